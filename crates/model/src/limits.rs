//! Maximum lengths, in characters, equal to OTOBO's column sizes (reference §10).

/// `customer_user.login VARCHAR(191)`.
pub const LOGIN: usize = 191;
/// `customer_user.email VARCHAR(150)`.
pub const EMAIL: usize = 150;
/// `customer_user.customer_id VARCHAR(150)` and `customer_company.customer_id`.
pub const CUSTOMER_ID: usize = 150;
/// `customer_user.title VARCHAR(50)`.
pub const TITLE: usize = 50;
/// `customer_user.first_name` / `last_name VARCHAR(100)`.
pub const NAME: usize = 100;
/// `phone`, `fax`, `mobile`, `street VARCHAR(150)`.
pub const PHONE_STREET: usize = 150;
/// `zip`, `city`, `country VARCHAR(200)`.
pub const ZIP_CITY_COUNTRY: usize = 200;
/// `comments VARCHAR(250)`.
pub const COMMENT: usize = 250;
/// `customer_company.name VARCHAR(191)`.
pub const COMPANY_NAME: usize = 191;
/// `customer_company.street/zip/city/country/url VARCHAR(200)`.
pub const COMPANY_TEXT: usize = 200;
/// `customer_preferences.preferences_key VARCHAR(150)`.
pub const PREFERENCE_KEY: usize = 150;
/// `customer_preferences.preferences_value VARCHAR(250)`.
pub const PREFERENCE_VALUE: usize = 250;
/// Default for an extra attribute without a declared length.
pub const EXTRA_ATTRIBUTE: usize = 250;
/// A secondary customer-ids string (`customer_ids`), as long as a comment column.
pub const CUSTOMER_IDS: usize = 250;
/// A dynamic field's text value (`dynamic_field_value.value_text VARCHAR(3800)`), the default for
/// a map row of storage type `dynamic_field`.
pub const DYNAMIC_FIELD_TEXT: usize = 3800;
/// `groups_table.name VARCHAR(191)`.
pub const GROUP_NAME: usize = 191;
/// `service.name VARCHAR(191)`: a service's full name, its parents' names included.
pub const SERVICE_NAME: usize = 191;
