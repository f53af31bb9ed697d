//! The Directory as the customer-record source of the dynamic-field mapper.

use async_trait::async_trait;
use clientele_backend::Error;
use clientele_directory::Directory;
use clientele_dynamic_fields::{CustomerRecord, CustomerRecordSource, FieldValue};
use clientele_model::AttributeValue;

/// Hands the dynamic-field mapper the merged record of a login — user attributes, company
/// attributes, `UserFullname` and preferences, as OTOBO's `CustomerUserDataGet` — read through a
/// [`Directory`], so a host passes a login and writes no merge of its own.
///
/// ```
/// use std::sync::Arc;
/// use clientele::{Directory, DirectoryRecords, InMemoryBackend};
/// use clientele::dynamic_fields::CustomerRecordSource;
/// use clientele::model::{Actor, NewCustomerCompany, NewCustomerUser};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
/// dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), Actor::System).await.unwrap();
/// dir.add_customer_user(NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"), Actor::System)
///     .await
///     .unwrap();
/// let record = DirectoryRecords::new(dir).record("jdoe").await.unwrap().unwrap();
/// assert_eq!(record.get("CustomerCompanyName").unwrap().as_text(), Some("Acme Corp"));
/// assert_eq!(record.get("UserFullname").unwrap().as_text(), Some("John Doe"));
/// # });
/// ```
#[derive(Clone)]
pub struct DirectoryRecords {
    directory: Directory,
}

impl DirectoryRecords {
    /// Wraps a Directory.
    pub fn new(directory: Directory) -> Self {
        DirectoryRecords { directory }
    }

    /// The Directory.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }
}

fn field_value(value: AttributeValue) -> FieldValue {
    match value {
        AttributeValue::List(values) => FieldValue::List(values),
        other => FieldValue::Text(other.to_text()),
    }
}

#[async_trait]
impl CustomerRecordSource for DirectoryRecords {
    type Error = Error;

    async fn record(&self, login: &str) -> Result<Option<CustomerRecord>, Error> {
        Ok(self.directory.merged_record(login).await?.map(|merged| {
            merged
                .into_iter()
                .map(|(k, v)| (k, field_value(v)))
                .collect()
        }))
    }
}
