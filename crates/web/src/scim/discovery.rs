//! `ServiceProviderConfig`, `Schemas` and `ResourceTypes` (RFC 7643 §5–7; RFC 7644 §4).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::error::ScimError;
use super::{
    CLIENTELE_SCHEMA, ENTERPRISE_SCHEMA, GROUP_SCHEMA, SCIM_PATH, ScimState, USER_SCHEMA,
    list_response, respond,
};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

/// `GET /ServiceProviderConfig`.
pub(crate) async fn service_provider_config(State(s): State<ScimState>) -> Response {
    respond(
        StatusCode::OK,
        &json!({
            "schemas": [SPC_SCHEMA],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": s.settings.max_results},
            "changePassword": {"supported": true},
            "sort": {"supported": false},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A token of scope scim from `clientele serve token add --scim`",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{SCIM_PATH}/ServiceProviderConfig"),
            },
        }),
    )
}

/// One attribute definition (RFC 7643 §7).
#[allow(clippy::too_many_arguments)]
fn attr(
    name: &str,
    kind: &str,
    multi: bool,
    required: bool,
    mutability: &str,
    returned: &str,
    uniqueness: &str,
    description: &str,
    sub: Vec<Value>,
) -> Value {
    let mut a = json!({
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": description,
        "required": required,
        "caseExact": false,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": uniqueness,
    });
    if !sub.is_empty() {
        a["subAttributes"] = Value::Array(sub);
    }
    if kind == "reference" {
        a["referenceTypes"] = json!(["User"]);
    }
    a
}

fn rw(name: &str, kind: &str, description: &str) -> Value {
    attr(
        name,
        kind,
        false,
        false,
        "readWrite",
        "default",
        "none",
        description,
        vec![],
    )
}

fn multi(name: &str, description: &str, sub: Vec<Value>) -> Value {
    attr(
        name,
        "complex",
        true,
        false,
        "readWrite",
        "default",
        "none",
        description,
        sub,
    )
}

fn typed_items(kinds: &[&str]) -> Vec<Value> {
    let mut t = rw("type", "string", "The kind of value");
    t["canonicalValues"] = json!(kinds);
    vec![
        rw("value", "string", "The value"),
        t,
        rw("primary", "boolean", "The primary value"),
    ]
}

fn user_schema() -> Value {
    let attributes = vec![
        attr(
            "userName",
            "string",
            false,
            true,
            "readWrite",
            "default",
            "server",
            "The login (UserLogin)",
            vec![],
        ),
        attr(
            "name",
            "complex",
            false,
            false,
            "readWrite",
            "default",
            "none",
            "The user's name",
            vec![
                rw("formatted", "string", "First and last name"),
                rw("givenName", "string", "UserFirstname"),
                rw("familyName", "string", "UserLastname"),
                rw("honorificPrefix", "string", "UserTitle"),
            ],
        ),
        rw("displayName", "string", "First and last name"),
        attr(
            "emails",
            "complex",
            true,
            true,
            "readWrite",
            "default",
            "none",
            "UserEmail (one address; required)",
            typed_items(&["work"]),
        ),
        multi(
            "phoneNumbers",
            "UserPhone (work), UserMobile (mobile), UserFax (fax)",
            typed_items(&["work", "mobile", "fax"]),
        ),
        multi(
            "addresses",
            "UserStreet, UserCity, UserZip, UserCountry (one address)",
            vec![
                rw("streetAddress", "string", "UserStreet"),
                rw("locality", "string", "UserCity"),
                rw("postalCode", "string", "UserZip"),
                rw("country", "string", "UserCountry"),
                rw("type", "string", "The kind of address"),
                rw("primary", "boolean", "The primary address"),
            ],
        ),
        rw(
            "active",
            "boolean",
            "valid (true) or invalid-temporarily (false)",
        ),
        attr(
            "password",
            "string",
            false,
            false,
            "writeOnly",
            "never",
            "none",
            "Set through the password policy; never returned",
            vec![],
        ),
    ];
    schema(USER_SCHEMA, "User", "Customer user", attributes)
}

fn group_schema() -> Value {
    let attributes = vec![
        attr(
            "displayName",
            "string",
            false,
            true,
            "readWrite",
            "default",
            "server",
            "group:permission-type, e.g. billing:rw",
            vec![],
        ),
        attr(
            "members",
            "complex",
            true,
            false,
            "readWrite",
            "default",
            "none",
            "Users holding a direct grant of this type",
            vec![
                attr(
                    "value",
                    "string",
                    false,
                    false,
                    "immutable",
                    "default",
                    "none",
                    "The member's id (login)",
                    vec![],
                ),
                attr(
                    "$ref",
                    "reference",
                    false,
                    false,
                    "immutable",
                    "default",
                    "none",
                    "The member's URI",
                    vec![],
                ),
                attr(
                    "display",
                    "string",
                    false,
                    false,
                    "readOnly",
                    "default",
                    "none",
                    "The member's login",
                    vec![],
                ),
                attr(
                    "type",
                    "string",
                    false,
                    false,
                    "immutable",
                    "default",
                    "none",
                    "User",
                    vec![],
                ),
            ],
        ),
    ];
    schema(
        GROUP_SCHEMA,
        "Group",
        "A group and one permission type",
        attributes,
    )
}

fn enterprise_schema() -> Value {
    schema(
        ENTERPRISE_SCHEMA,
        "EnterpriseUser",
        "Enterprise user",
        vec![rw(
            "organization",
            "string",
            "The name of the user's company (UserCustomerID)",
        )],
    )
}

fn clientele_schema() -> Value {
    schema(
        CLIENTELE_SCHEMA,
        "ClienteleUser",
        "Clientele's customer ids",
        vec![
            rw(
                "customerId",
                "string",
                "UserCustomerID: the primary company",
            ),
            attr(
                "secondaryCustomerIds",
                "string",
                true,
                false,
                "readWrite",
                "default",
                "none",
                "Further companies (UserCustomerIDs or relations)",
                vec![],
            ),
        ],
    )
}

fn schema(id: &str, name: &str, description: &str, attributes: Vec<Value>) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("{SCIM_PATH}/Schemas/{id}"),
        },
    })
}

fn all_schemas() -> Vec<Value> {
    vec![
        user_schema(),
        group_schema(),
        enterprise_schema(),
        clientele_schema(),
    ]
}

/// `GET /Schemas`.
pub(crate) async fn schemas() -> Response {
    let all = all_schemas();
    list_response(all.len(), 1, all)
}

/// One schema by its URN.
fn schema_by_id(id: &str) -> Result<Response, ScimError> {
    all_schemas()
        .into_iter()
        .find(|s| s["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
        .map(|s| respond(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::not_found("schema", id))
}

/// `GET /Schemas/{id}`.
pub(crate) async fn schema_resource(Path(id): Path<String>) -> Result<Response, ScimError> {
    schema_by_id(&id)
}

fn all_resource_types() -> Vec<Value> {
    let rt = |id: &str, endpoint: &str, schema: &str, description: &str, ext: Value| {
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": id,
            "name": id,
            "endpoint": endpoint,
            "description": description,
            "schema": schema,
            "schemaExtensions": ext,
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{SCIM_PATH}/ResourceTypes/{id}"),
            },
        })
    };
    vec![
        rt(
            "User",
            "/Users",
            USER_SCHEMA,
            "Customer users",
            json!([
                {"schema": ENTERPRISE_SCHEMA, "required": false},
                {"schema": CLIENTELE_SCHEMA, "required": false},
            ]),
        ),
        rt(
            "Group",
            "/Groups",
            GROUP_SCHEMA,
            "Groups, one per permission type",
            json!([]),
        ),
    ]
}

/// `GET /ResourceTypes`.
pub(crate) async fn resource_types() -> Response {
    let all = all_resource_types();
    list_response(all.len(), 1, all)
}

/// `GET /ResourceTypes/{id}`.
pub(crate) async fn resource_type(Path(id): Path<String>) -> Result<Response, ScimError> {
    all_resource_types()
        .into_iter()
        .find(|s| {
            s["id"]
                .as_str()
                .is_some_and(|i| i.eq_ignore_ascii_case(&id))
        })
        .map(|s| respond(StatusCode::OK, &s))
        .ok_or_else(|| ScimError::not_found("resource type", &id))
}
