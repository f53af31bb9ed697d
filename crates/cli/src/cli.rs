//! The command-line grammar (clap derive); `--help` texts are the doc comments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Administer Clientele customer users, companies, groups and services.
///
/// Reads ./clientele.toml (or --config / $CLIENTELE_CONFIG). Without a configuration file it
/// uses a SQLite database ./clientele.sqlite with OTOBO's defaults.
///
/// Exit codes: 0 ok, 1 bad input (validation, not found, parse errors), 2 a backend is
/// unavailable or failed.
#[derive(Debug, Parser)]
#[command(
    name = "clientele",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Configuration file [default: ./clientele.toml; without it, ./clientele.sqlite]
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "CLIENTELE_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,

    /// Print JSON for scripts instead of tables
    #[arg(long, global = true)]
    pub json: bool,

    /// Who makes the change, stored in create_by/change_by: an agent id, or an agent login
    /// (root@localhost) where the database has OTOBO's users table; checked before any write
    #[arg(
        long,
        global = true,
        env = "CLIENTELE_BY",
        default_value = "1",
        value_name = "AGENT"
    )]
    pub by: String,

    /// What to do
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or update the database schema (OTOBO-compatible tables, constraints — none on
    /// OTOBO's tables with `[otobo] coexist = true` — and a column for every extra attribute of
    /// the map); `--plan` shows what it would do
    Init {
        /// Also create the search indexes for large tables on `customer_user` (PostgreSQL:
        /// trigram and prefix indexes and a generated lower-case search column; SQLite: a
        /// trigram full-text index and NOCASE b-trees;
        /// MariaDB: indexed lower-case generated columns and a trigram side table kept by
        /// triggers, which needs the TRIGGER privilege). Safe to repeat; see
        /// docs/benchmarks.md for what they cost and serve
        #[arg(long)]
        search_indexes: bool,
        /// Change nothing: list every table, column, key, index and row `init` would add or
        /// drop, every duplicate row it would merge, and every row that would make it refuse
        /// (exit code 1 when there are any)
        #[arg(long)]
        plan: bool,
    },
    /// Check the configuration file and show the sources it describes (connects to nothing
    /// unless --stored is given)
    CheckConfig {
        /// Also open the sources and list stored grants whose permission type or context the
        /// configuration does not know (they grant nothing); exits with 1 when there are any
        #[arg(long)]
        stored: bool,
    },
    /// Customer companies (OTOBO "Customers")
    #[command(subcommand)]
    Company(CompanyCmd),
    /// Customer users
    #[command(subcommand)]
    User(UserCmd),
    /// Customer groups and permissions
    #[command(subcommand)]
    Group(GroupCmd),
    /// Services customer users may request
    #[command(subcommand)]
    Service(ServiceCmd),
    /// Authentication
    #[command(subcommand)]
    Auth(AuthCmd),
    /// LDAP sources
    #[command(subcommand)]
    Ldap(LdapCmd),
    /// Import customer users or companies from CSV or JSON Lines, or everything from an
    /// `export all` (upsert: adds new, updates changed, leaves unchanged rows alone)
    Import(ImportArgs),
    /// Export customer users or companies as CSV or JSON Lines, or everything as JSON Lines
    Export(ExportArgs),
    /// Serve the JSON API over HTTP on the `[web]` section's `bind` address (loopback by
    /// default; put a TLS reverse proxy in front), each request authenticated by a bearer token
    #[cfg(feature = "web")]
    Serve(ServeArgs),
}

/// `clientele serve …`
#[cfg(feature = "web")]
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen here instead of the `[web]` section's `bind` (e.g. 127.0.0.1:0 for any free port)
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<std::net::SocketAddr>,
    /// Manage the bearer tokens instead of serving
    #[command(subcommand)]
    pub command: Option<ServeCmd>,
}

/// `clientele serve token …`
#[cfg(feature = "web")]
#[derive(Debug, Subcommand)]
pub enum ServeCmd {
    /// Bearer tokens: each names the actor its writes are made by; only a SHA-256 digest is
    /// stored in the configuration file
    #[command(subcommand)]
    Token(TokenCmd),
}

/// `clientele serve token …`
#[cfg(feature = "web")]
#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create a token, print it once and store its digest as a [[web.token]] entry
    Add {
        /// The actor the token's requests write as: an agent id, or an agent login where the
        /// database has OTOBO's users table (as for --by)
        #[arg(long)]
        actor: String,
        /// A token for SCIM provisioning (scope scim) instead of the JSON API (scope api):
        /// each opens only its own part
        #[arg(long)]
        scim: bool,
    },
    /// Remove tokens: the one with this id, or every token of --actor
    Revoke {
        /// The token's id (as `serve token list` shows it)
        #[arg(required_unless_present = "actor", conflicts_with = "actor")]
        id: Option<String>,
        /// Every token of this actor
        #[arg(long)]
        actor: Option<String>,
    },
    /// List the tokens' ids, actors and scopes (never a token or a digest)
    List,
}

/// A validity on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ValidityArg {
    /// valid (OTOBO valid_id 1)
    Valid,
    /// invalid (2)
    Invalid,
    /// invalid-temporarily (3)
    InvalidTemporarily,
}

impl ValidityArg {
    /// The model's validity.
    pub fn validity(self) -> clientele::model::Validity {
        use clientele::model::Validity;
        match self {
            ValidityArg::Valid => Validity::Valid,
            ValidityArg::Invalid => Validity::Invalid,
            ValidityArg::InvalidTemporarily => Validity::InvalidTemporarily,
        }
    }
}

/// Company attributes beside the id and the name.
#[derive(Debug, Args, Default)]
pub struct CompanyFields {
    /// Street
    #[arg(long)]
    pub street: Option<String>,
    /// Zip code
    #[arg(long)]
    pub zip: Option<String>,
    /// City
    #[arg(long)]
    pub city: Option<String>,
    /// Country
    #[arg(long)]
    pub country: Option<String>,
    /// Web address
    #[arg(long)]
    pub url: Option<String>,
    /// Comment
    #[arg(long)]
    pub comment: Option<String>,
    /// Any attribute of the company map, by key or column: --attr CustomerCompanyRegion=EMEA
    #[arg(long = "attr", value_name = "KEY=VALUE")]
    pub attrs: Vec<String>,
}

/// `clientele company …`
#[derive(Debug, Subcommand)]
pub enum CompanyCmd {
    /// Add a company
    Add {
        /// The customer id (OTOBO CustomerID), e.g. ACME
        customer_id: String,
        /// The company's name (unique)
        #[arg(long)]
        name: String,
        #[command(flatten)]
        fields: CompanyFields,
        /// Validity
        #[arg(long, value_enum)]
        valid: Option<ValidityArg>,
    },
    /// Change a company; an empty value ("") clears an attribute
    Update {
        /// The customer id
        customer_id: String,
        /// New name
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        fields: CompanyFields,
        /// New validity (companies are invalidated, never deleted)
        #[arg(long, value_enum)]
        valid: Option<ValidityArg>,
    },
    /// Show a company
    Show {
        /// The customer id
        customer_id: String,
    },
    /// List companies
    List {
        /// Include invalid companies
        #[arg(long)]
        all: bool,
        /// At most this many [default: the configured search_limit, OTOBO's 250]
        #[arg(long)]
        limit: Option<usize>,
        /// With --json: one object holding the rows, the limit applied, whether more matched
        /// and the sources left out, instead of the bare list
        #[arg(long)]
        envelope: bool,
    },
    /// Search companies with the search language (ac*, acme OR globex, !old)
    Search {
        /// The search term
        term: String,
        /// Include invalid companies
        #[arg(long)]
        all: bool,
        /// At most this many [default: the configured search_limit]
        #[arg(long)]
        limit: Option<usize>,
        /// With --json: one object holding the rows, the limit applied, whether more matched
        /// and the sources left out, instead of the bare list
        #[arg(long)]
        envelope: bool,
    },
    /// The company's customer users: those whose primary company it is and those related to
    /// it (customer_user_customer), each marked; invalid users included
    Users {
        /// The customer id
        customer_id: String,
        /// At most this many primary users per source [default: the source's search_limit]
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Invalidate a company (companies are never deleted)
    Invalidate {
        /// The customer id
        customer_id: String,
        /// invalid-temporarily instead of invalid
        #[arg(long)]
        temporarily: bool,
    },
}

/// Customer-user attributes beside the required ones.
#[derive(Debug, Args, Default)]
pub struct UserFields {
    /// Title or salutation
    #[arg(long)]
    pub title: Option<String>,
    /// Phone
    #[arg(long)]
    pub phone: Option<String>,
    /// Fax
    #[arg(long)]
    pub fax: Option<String>,
    /// Mobile
    #[arg(long)]
    pub mobile: Option<String>,
    /// Street
    #[arg(long)]
    pub street: Option<String>,
    /// Zip code
    #[arg(long)]
    pub zip: Option<String>,
    /// City
    #[arg(long)]
    pub city: Option<String>,
    /// Country
    #[arg(long)]
    pub country: Option<String>,
    /// Comment
    #[arg(long)]
    pub comment: Option<String>,
    /// Secondary customer ids, separated by ';' or ','. Stored in the UserCustomerIDs attribute
    /// when the map has that row; otherwise (OTOBO's default map) the user is related to each
    /// company, as `user relate-company` does (on update: relations are added, none removed)
    #[arg(long, value_name = "IDS")]
    pub customer_ids: Option<String>,
    /// Any attribute of the map, by key or column, e.g. an extra `room`: --attr room=B-201
    #[arg(long = "attr", value_name = "KEY=VALUE")]
    pub attrs: Vec<String>,
}

/// `clientele user …`
#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Add a customer user; without --password-stdin a password is generated and printed once
    Add {
        /// Login (OTOBO UserLogin)
        #[arg(long)]
        login: String,
        /// First name
        #[arg(long)]
        first_name: String,
        /// Last name
        #[arg(long)]
        last_name: String,
        /// Email address
        #[arg(long)]
        email: String,
        /// Primary company (OTOBO UserCustomerID); the company must exist
        #[arg(long)]
        customer_id: String,
        #[command(flatten)]
        fields: UserFields,
        /// Validity
        #[arg(long, value_enum)]
        valid: Option<ValidityArg>,
        /// Read the password from the first line of standard input instead of generating one
        #[arg(long)]
        password_stdin: bool,
        /// The source to add to, by name [default: add_target, else the first writable source]
        #[arg(long)]
        source: Option<String>,
    },
    /// Change a customer user; an empty value ("") clears an attribute
    Update {
        /// The user's login
        login: String,
        /// Rename the user
        #[arg(long)]
        new_login: Option<String>,
        /// First name
        #[arg(long)]
        first_name: Option<String>,
        /// Last name
        #[arg(long)]
        last_name: Option<String>,
        /// Email address
        #[arg(long)]
        email: Option<String>,
        /// Primary company
        #[arg(long)]
        customer_id: Option<String>,
        #[command(flatten)]
        fields: UserFields,
        /// Validity
        #[arg(long, value_enum)]
        valid: Option<ValidityArg>,
    },
    /// Show a customer user with its customer ids
    Show {
        /// The login
        login: String,
    },
    /// Search customer users with the search language (smi*, john+doe, a OR b, !x, "a phrase")
    Search {
        /// The search term [default: every user]
        term: Option<String>,
        /// Exact email address instead (OTOBO PostMasterSearch)
        #[arg(long, conflicts_with_all = ["term", "customer_id"])]
        email: Option<String>,
        /// Users of this customer id instead (`*` is a wildcard)
        #[arg(long, conflicts_with = "term")]
        customer_id: Option<String>,
        /// Include invalid users
        #[arg(long)]
        all: bool,
        /// At most this many per source [default: the source's search_limit, OTOBO's 250]
        #[arg(long)]
        limit: Option<usize>,
        /// With --json: one object holding the rows, the limit applied, whether more matched
        /// and the sources left out, instead of the bare list
        #[arg(long)]
        envelope: bool,
    },
    /// Invalidate a customer user (users are never deleted)
    Invalidate {
        /// The login
        login: String,
        /// invalid-temporarily instead of invalid
        #[arg(long)]
        temporarily: bool,
    },
    /// Set a password: read from standard input or a prompt, or --generate one (printed once)
    SetPassword {
        /// The login
        login: String,
        /// Generate a random password and print it once
        #[arg(long)]
        generate: bool,
    },
    /// The user's customer ids (OTOBO CustomerIDs): secondary ids, primary id, related companies
    Customers {
        /// The login
        login: String,
    },
    /// The users whose preference KEY equals VALUE exactly (OTOBO SearchPreferences), or who
    /// have KEY at all when no VALUE is given
    WithPreference {
        /// The preference key, e.g. UserLanguage
        key: String,
        /// The value [default: any value]
        value: Option<String>,
    },
    /// Relate a user to a further company (OTOBO customer_user_customer), or --remove it
    RelateCompany {
        /// The login
        login: String,
        /// The company's customer id
        customer_id: String,
        /// Remove the relation instead
        #[arg(long)]
        remove: bool,
    },
}

/// Whom a grant is for.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Grantee {
    /// A customer user, by login
    #[arg(long)]
    pub user: Option<String>,
    /// A company, by customer id
    #[arg(long)]
    pub company: Option<String>,
}

/// `clientele group …`
#[derive(Debug, Subcommand)]
pub enum GroupCmd {
    /// Add a group
    Add {
        /// The group's name
        name: String,
    },
    /// List the groups
    List,
    /// Grant permission types on a group to a user or a company (added to what it has)
    Grant {
        /// The group
        group: String,
        #[command(flatten)]
        grantee: Grantee,
        /// Context of a company grant: same (Ticket::CustomerID::Same), other
        /// (Ticket::CustomerID::Other), or a context name
        #[arg(long, default_value = "same")]
        context: String,
        /// Permission types to add, e.g. ro rw (rw implies every type); the types already
        /// granted stay
        #[arg(required = true, num_args = 1..)]
        permissions: Vec<String>,
        /// Replace the granted set with exactly these types instead of adding them
        #[arg(long)]
        set: bool,
    },
    /// Revoke permission types (all of them when none are named)
    Revoke {
        /// The group
        group: String,
        #[command(flatten)]
        grantee: Grantee,
        /// Context of a company grant (same, other, or a context name)
        #[arg(long, default_value = "same")]
        context: String,
        /// Permission types to revoke [default: all]
        permissions: Vec<String>,
    },
    /// A user's effective permissions: direct grants, company grants for every customer id,
    /// always-groups (OTOBO's "Effective Permissions")
    Effective {
        /// The login
        login: String,
    },
    /// Who has which permission on a group: the stored grants of users and companies, or
    /// with --effective every user who has each type and where it comes from
    Members {
        /// The group
        group: String,
        /// Every valid user who effectively has each type, with its origin (always-groups are
        /// reported as "every valid customer user")
        #[arg(long)]
        effective: bool,
    },
    /// The lists a host's ticket query filters a customer user's tickets by: the groups, customer
    /// ids and other-customers groups of OTOBO's ticket permission check
    AccessFilter {
        /// The login
        login: String,
        /// The permission type
        #[arg(long = "type", default_value = "ro")]
        permission_type: String,
    },
    #[command(flatten)]
    Edit(CatalogEdit),
}

/// Renaming, commenting and (in)validating a group or a service.
#[derive(Debug, Subcommand)]
pub enum CatalogEdit {
    /// Rename it (a service's descendants are renamed with it: Email → Mail makes
    /// Email::Outbound Mail::Outbound; a new Parent::Name needs Parent)
    Rename {
        /// The current name
        name: String,
        /// The new name (for a service, the full name)
        new_name: String,
    },
    /// Set its comment; without TEXT (or with "") the comment is cleared
    Comment {
        /// The name
        name: String,
        /// The comment (at most 250 characters)
        text: Option<String>,
    },
    /// Invalidate it: an invalid group grants nothing, an invalid service can't be requested
    /// (neither is ever deleted)
    Invalidate {
        /// The name
        name: String,
        /// invalid-temporarily instead of invalid
        #[arg(long)]
        temporarily: bool,
    },
    /// Make it valid again
    Validate {
        /// The name
        name: String,
    },
}

/// `clientele service …`
#[derive(Debug, Subcommand)]
pub enum ServiceCmd {
    /// Add a service; a child goes below an existing parent by its full name: Email::Outbound
    Add {
        /// The service's full name (Parent::Child below an existing Parent)
        name: String,
    },
    /// Assign a service to a user, or --remove it
    Assign {
        /// The login
        login: String,
        /// The service
        service: String,
        /// Remove the assignment instead
        #[arg(long)]
        remove: bool,
    },
    /// Make a service a default service (for users without services of their own), or --remove
    Default {
        /// The service
        service: String,
        /// Remove it from the default services instead
        #[arg(long)]
        remove: bool,
    },
    /// List the services, or the services a user may request (own, else the defaults)
    List {
        /// The user whose services to list
        #[arg(long)]
        user: Option<String>,
        /// With --user: only the services assigned to the user, without the default services
        /// it falls back to when it has none
        #[arg(long, requires = "user")]
        no_default: bool,
    },
    /// The users a service is assigned to, and whether it is a default service
    Users {
        /// The service
        service: String,
    },
    #[command(flatten)]
    Edit(CatalogEdit),
}

/// `clientele auth …`
#[derive(Debug, Subcommand)]
pub enum AuthCmd {
    /// Check a login and password. The password is read from standard input (first line) or a
    /// prompt, never from the command line
    Check {
        /// The login
        login: String,
    },
}

/// `clientele ldap …`
#[derive(Debug, Subcommand)]
pub enum LdapCmd {
    /// Connect, bind, run a sample search and show how the entries map to attributes
    Test {
        /// The LDAP source, by name [default: every LDAP source]
        #[arg(long)]
        source: Option<String>,
        /// Search term for the sample search
        #[arg(long, default_value = "*")]
        term: String,
        /// Look up this login instead of searching
        #[arg(long)]
        login: Option<String>,
        /// Entries to show
        #[arg(long, default_value_t = 3)]
        limit: usize,
    },
}

/// What an import or export handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Customer users (upsert by login)
    Users,
    /// Customer companies (upsert by customer id)
    Companies,
    /// Everything an admin moves between databases: companies, groups, services, users,
    /// their relations, grants, service assignments and preferences, as one JSON Lines stream
    /// with a `kind` on each line (see docs/guide.md)
    All,
}

/// File formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row of attribute keys or columns
    Csv,
    /// JSON Lines: one object per line, keyed by attribute key or column
    Jsonl,
}

/// What to do with a bad row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnError {
    /// Report it with its line number and go on
    Continue,
    /// Report it and stop; rows after it are not touched
    Stop,
}

/// `clientele import …`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// users, companies or all
    #[arg(value_enum)]
    pub kind: Kind,
    /// The file; - reads standard input
    pub file: PathBuf,
    /// File format [default: from the extension: .csv, .jsonl/.ndjson]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// What to do with a bad row
    #[arg(long, value_enum, default_value = "continue")]
    pub on_error: OnError,
    /// Rows read and written per batch
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
    /// Company rows handled at once within a batch (1 = one after another) [default: 8; for
    /// SQLite, whose writers wait for each other, the number of CPUs up to 4]. Customer-user
    /// rows are applied in file order
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Customer users: the source to add new users to, by name [default: add_target, else the
    /// first writable source]
    #[arg(long)]
    pub source: Option<String>,
}

/// `clientele export …`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// users, companies or all
    #[arg(value_enum)]
    pub kind: Kind,
    /// The file [default: standard output]
    pub file: Option<PathBuf>,
    /// File format [default: from the extension, else csv]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Only valid records
    #[arg(long)]
    pub valid_only: bool,
    /// `all`: also each user's stored password hash, so users keep their passwords. Refused
    /// when the export would go to a terminal
    #[arg(long)]
    pub with_password_hashes: bool,
}
