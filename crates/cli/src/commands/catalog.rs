//! `clientele group|service rename|comment|invalidate|validate`: one implementation for both.

use clientele::backend::CatalogChanges;
use clientele::model::Validity;
use clientele::model::catalog::is_descendant;
use serde_json::json;

use crate::Context;
use crate::cli::CatalogEdit;
use crate::error::CliResult;
use crate::output::{json, say};

/// What is edited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Catalog {
    /// A group (OTOBO groups_table).
    Group,
    /// A service (OTOBO service).
    Service,
}

impl Catalog {
    fn noun(self) -> &'static str {
        match self {
            Catalog::Group => "group",
            Catalog::Service => "service",
        }
    }
}

/// The name an edit is about and the changes it makes.
fn changes_of(edit: CatalogEdit) -> (String, CatalogChanges) {
    match edit {
        CatalogEdit::Rename { name, new_name } => (name, CatalogChanges::new().rename(new_name)),
        CatalogEdit::Comment { name, text } => (name, CatalogChanges::new().comment(text)),
        CatalogEdit::Invalidate { name, temporarily } => {
            let validity = if temporarily {
                Validity::InvalidTemporarily
            } else {
                Validity::Invalid
            };
            (name, CatalogChanges::new().validity(validity))
        }
        CatalogEdit::Validate { name } => (name, CatalogChanges::new().validity(Validity::Valid)),
    }
}

/// Runs an edit through the Directory and reports the group or service as stored.
pub async fn run(ctx: &Context, catalog: Catalog, edit: CatalogEdit) -> CliResult {
    let dir = ctx.dir();
    let (name, changes) = changes_of(edit);
    let (id, stored, validity, comment) = match catalog {
        Catalog::Group => {
            let g = dir.update_group(&name, changes.clone(), &ctx.by).await?;
            if ctx.json {
                return json(&g);
            }
            (g.id.to_string(), g.name, g.validity, g.comment)
        }
        Catalog::Service => {
            let s = dir.update_service(&name, changes.clone(), &ctx.by).await?;
            if ctx.json {
                return json(&s);
            }
            (s.id.to_string(), s.name, s.validity, s.comment)
        }
    };
    let noun = catalog.noun();
    if changes.name.is_some() {
        let moved = match catalog {
            Catalog::Service => dir
                .services()
                .await?
                .iter()
                .filter(|s| is_descendant(&s.name, &stored))
                .count(),
            Catalog::Group => 0,
        };
        let with = match moved {
            0 => String::new(),
            1 => " with its 1 descendant".to_owned(),
            n => format!(" with its {n} descendants"),
        };
        say(format!("{noun} {name} (id {id}) renamed to {stored}{with}"));
    }
    if changes.comment.is_some() {
        match &comment {
            Some(c) => say(format!("{noun} {stored} now has the comment {c:?}")),
            None => say(format!("{noun} {stored} has no comment now")),
        }
    }
    if changes.validity.is_some() {
        say(format!("{noun} {stored} is now {validity}"));
    }
    Ok(())
}

/// The JSON of a service list row, shared by `service list` and `service users`.
pub fn service_json(s: &clientele::backend::Service, default: bool) -> serde_json::Value {
    json!({
        "id": s.id,
        "name": s.name,
        "validity": s.validity,
        "comment": s.comment,
        "default": default,
    })
}
