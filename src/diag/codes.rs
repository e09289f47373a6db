//! Stable diagnostic codes, each with the paragraph `v5c explain CODE` prints.
//!
//! Codes never change meaning and are never reused. The hundreds say which stage finds the
//! problem: 00 loading, 01 lowering (the small languages inside values), 02 name resolution,
//! 03 type expressions, 04 ports and flows, 05 the flow graph, 06 databases, 07 deployment,
//! 08 observability, 09 building.

use std::fmt;

macro_rules! codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $num:literal, $title:literal; )*) => {
        /// A diagnostic code: `V5C` and four digits.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($variant),* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            pub fn number(self) -> u16 {
                match self { $(Code::$variant => $num),* }
            }

            /// A few words naming the problem.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title),* }
            }

            /// What the code means, why it is a problem, and how to fix it.
            pub fn explanation(self) -> &'static str {
                match self { $(Code::$variant => concat!($($doc, "\n"),*)),* }
            }
        }
    };
}

codes! {
    /// The spec file could not be read: it does not exist, is not readable, or is not UTF-8.
    /// Check the path given on the command line.
    Io = 1, "cannot read the spec";
    /// The text is not well-formed YAML: an indentation mistake, an unclosed quote or bracket,
    /// a tab used for indentation. The label points where the YAML parser gave up; the mistake
    /// is often on the line before.
    YamlSyntax = 2, "YAML syntax error";
    /// The same key appears twice in one mapping. YAML parsers disagree on which value wins, so
    /// v5c refuses to guess. Remove or rename one of them.
    DuplicateKey = 3, "duplicate key";
    /// The spec uses a YAML feature that has no meaning in a spec: several documents in one
    /// file, a non-scalar mapping key, a custom tag, or aliases that expand to too much text.
    /// Write the value out plainly.
    UnsupportedYaml = 4, "unsupported YAML feature";
    /// The file holds no document, or the document is not a mapping. A spec starts with
    /// `spec: v5c/1` at the top level.
    NotAMapping = 5, "the spec is not a mapping";
    /// A value has the wrong type: a list where a mapping belongs, text where a number belongs.
    /// YAML reads some unquoted words as numbers or booleans (`1.0`, `yes` is text but `true`
    /// is not); quote a value to make it text.
    WrongType = 10, "wrong type";
    /// A key the spec does not define. Keys are checked strictly so that a typo never silently
    /// loses a setting. The help names the closest known key.
    UnknownKey = 11, "unknown key";
    /// A key that must be present is missing from a mapping.
    MissingKey = 12, "missing key";
    /// A value is not one of the values allowed here (an engine, a component kind, an
    /// operation). The message lists the allowed values.
    NotAllowed = 13, "value not allowed";
    /// A number or a list is outside the range the spec allows: a pool size of zero, a port
    /// above 65535, an empty list where at least one item is needed.
    OutOfRange = 14, "value out of range";
    /// A name does not have the shape the spec requires. Entity names are PascalCase or
    /// snake_case words (`Order`, `LineItem`); field, component and database names are
    /// lower snake_case (`created_at`); the system name is lower case with dashes
    /// (`online-shop`), because it becomes a DNS name in Kubernetes.
    BadName = 15, "name has the wrong shape";
    /// The spec does not match its JSON Schema in a way no more specific code covers.
    SchemaMismatch = 16, "spec does not match its schema";
    /// The `spec:` line names a version this v5c does not read. This v5c reads `v5c/1`.
    UnsupportedVersion = 17, "unsupported spec version";
    /// A field type expression is not well-formed. Types are written `uuid`, `string`,
    /// `string(64)`, `text`, `int16`, `int32`, `int64`, `decimal(12,2)`, `float32`,
    /// `float64`, `bool`, `timestamp` (an instant, with time zone), `datetime` (a wall-clock
    /// time, without zone), `date`, `time`, `json`, `bytes`, `enum(a, b, c)`, `ref(Entity)`
    /// and `list<T>`.
    TypeSyntax = 101, "malformed type expression";
    /// The type name is not one v5c knows. The help names the closest known type.
    UnknownType = 102, "unknown type";
    /// The type takes a different number of arguments: `string(64)` takes a length,
    /// `decimal(12,2)` a precision and a scale, `uuid` none.
    TypeArguments = 103, "wrong number of type arguments";
    /// A flow is written `producer -> consumer`, optionally naming ports
    /// (`enrich.rejected -> dead_letters.in`), and may chain: `a -> b -> c`.
    FlowSyntax = 104, "malformed flow";
    /// A duration is a number and a unit: `200ms`, `5s`, `10m`, `1h`, `30d`, or a sum such
    /// as `1m30s`. It must be longer than zero and at most a year.
    DurationSyntax = 105, "malformed duration";
    /// A size is a whole number and a unit: `512Mi`, `2Gi`, `100MB`, `64KiB`.
    SizeSyntax = 106, "malformed size";
    /// A rate is a count per unit of time: `5000/s`, `5k/s`, `1000rps`, `600/min`,
    /// `2000 events/s`. It must be above zero and at most a billion per second.
    RateSyntax = 107, "malformed rate";
    /// An SLO is written `COMPONENT QUANTITY OP VALUE [over WINDOW]`, for example
    /// `api p99 latency < 20ms`, `api availability >= 99.9% over 30d`,
    /// `api throughput >= 1000rps` or `api error rate < 1%`.
    SloSyntax = 108, "malformed SLO";
    /// A CPU quantity is a number of cores (`0.5`, `2`) or of millicores (`250m`).
    CpuSyntax = 109, "malformed CPU quantity";
    /// The name does not match any entity of the spec. Entity names are case-sensitive.
    UnknownEntity = 201, "unknown entity";
    /// The name does not match any component of the spec.
    UnknownComponent = 202, "unknown component";
    /// The name does not match any database declared under `databases`.
    UnknownDatabase = 203, "unknown database";
    /// The component has no port of that name. Sources have an output `out`, stores and sinks
    /// an input `in`, transformers both, unless the spec names its ports.
    UnknownPort = 204, "unknown port";
    /// The entity has no field of that name.
    UnknownField = 205, "unknown field";
    /// Two names differ only in letter case or in `_` placement. They would collide as table,
    /// file or Kubernetes names; rename one of them.
    NameCollision = 206, "names collide";
    /// An API exposes an entity that no store holds, or that several stores hold. Add a store
    /// component for the entity, or name the store in the exposure (`store: NAME`).
    NoStoreForEntity = 207, "no single store for the entity";
    /// The name refers to a component of the wrong kind, such as a `store:` key naming an api.
    WrongComponentKind = 208, "component of the wrong kind";
    /// The component has several ports in that direction, so a flow must say which one:
    /// `component.port`.
    AmbiguousPort = 209, "ambiguous port";
    /// A type parameter is out of range: `string(0)`, a decimal whose scale exceeds its
    /// precision, a decimal with precision zero.
    BadTypeParameter = 301, "bad type parameter";
    /// An enum lists the same value twice, or has a value that is not a lower-case word.
    BadEnum = 302, "bad enum";
    /// The default does not fit the field's type: text for a number, `now` for a non-time
    /// field, an enum default that is not one of its values.
    BadDefault = 303, "default does not fit the type";
    /// A field option that means nothing for the field's type: `min`/`max` on text, `format`
    /// on a number, `on_delete` on a field that is not a reference.
    OptionNotApplicable = 304, "option does not apply to this type";
    /// A type combination v5c cannot store faithfully: `list<ref(X)>` (a many-to-many relation:
    /// model it with a link entity), nested lists, or lists of json.
    UnsupportedType = 305, "unsupported type combination";
    /// A primary key field must not be nullable, and must be of a type with equality and
    /// ordering: not `json`, `list`, `float` or `bytes`.
    BadPrimaryKey = 306, "bad primary key";
    /// `on_delete: set_null` or `on_update: set_null` needs a nullable field.
    SetNullNotNullable = 307, "set_null on a required field";
    /// `min` is greater than `max`, or a bound lies outside what the type can hold.
    BadBounds = 308, "bad bounds";
    /// An index or unique constraint names the same field twice. Databases refuse it (MySQL) or
    /// keep a useless duplicate column; name each field once.
    RepeatedIndexField = 309, "index repeats a field";
    /// The two ends of a flow carry different entities. A transformer converts between them.
    FlowTypeMismatch = 401, "flow type mismatch";
    /// A flow runs the wrong way: out of a port that only consumes, or into one that only
    /// emits. Stores and sinks only consume; sources only emit.
    FlowDirection = 402, "flow runs the wrong way";
    /// A port that must be connected has no flow: a transformer's input or output, a source's
    /// output, a store's or sink's input.
    DanglingPort = 403, "unconnected port";
    /// The same flow is written twice.
    DuplicateFlow = 404, "duplicate flow";
    /// The component takes no part in flows: APIs read and write through stores.
    NoPorts = 405, "component has no ports";
    /// A `dead_letter` sink receives what a transformer or sink failed on, through the extra
    /// output port `dead_letter`: so the component's inputs must all carry one entity, and it
    /// may not name a port `dead_letter` itself.
    DeadLetter = 406, "bad dead-letter sink";
    /// The flows form a cycle. Messages would circulate without end and back-pressure could
    /// deadlock; break the cycle.
    FlowCycle = 501, "cycle in the flow graph";
    /// The component is connected to nothing and nothing uses it.
    OrphanComponent = 502, "orphan component";
    /// Data from the source never reaches a store or a sink, so it is lost.
    SourceGoesNowhere = 503, "source reaches no store or sink";
    /// The entity is not stored, exposed, referenced or carried by any flow.
    UnusedEntity = 504, "unused entity";
    /// The database engine cannot hold the type as written, for example a `decimal` wider than
    /// MySQL's 65 digits or an index on unbounded text in MySQL.
    EngineUnsupported = 601, "type not supported by the engine";
    /// A reference must point at an entity with a single-field primary key.
    RefTargetNoKey = 602, "reference target has no single primary key";
    /// A foreign key can only point at a table in the same database. Store the referenced
    /// entity in the same database as the entity that refers to it.
    RefAcrossDatabases = 603, "reference to another database";
    /// A table, column or index name is longer than the engine allows: 63 bytes in
    /// PostgreSQL, 64 in MySQL and MariaDB. Rename it (or set `table:`).
    IdentifierTooLong = 604, "identifier too long";
    /// Two indexes or constraints of one table would get the same name.
    DuplicateIndexName = 605, "duplicate index name";
    /// Every reference in the cycle is required, so no row of any table in it can be inserted
    /// first on an engine without deferred constraints. Make one reference nullable.
    RequiredRefCycle = 606, "cycle of required references";
    /// An entity that is stored in a database needs a primary key.
    NoPrimaryKey = 607, "stored entity without primary key";
    /// Two entities stored in one database map to the same table name.
    TableCollision = 608, "two entities share a table name";
    /// The pool's `min` is larger than its `max`.
    BadPool = 609, "bad pool size";
    /// A database is declared but no store uses it.
    UnusedDatabase = 610, "unused database";
    /// Two services listen on the same port, or a port is below 1024, which the generated
    /// containers cannot bind because they run as a non-root user.
    PortConflict = 701, "port conflict";
    /// SQLite is a file on one machine: it cannot be shared by several replicas or services.
    SqliteShared = 702, "SQLite shared";
    /// A resource quantity is out of range (CPU between `1m` and 1024 cores, memory between
    /// `4Mi` and `1Pi`), or a limit is below its request.
    BadResources = 703, "bad resources";
    /// When `deploy.services` is given, every component must be in exactly one service.
    ComponentPlacement = 704, "component not placed in exactly one service";
    /// Flows are in-process channels, so both ends must run in the same service.
    FlowCrossesServices = 705, "flow crosses services";
    /// Two HTTP routes of one service have the same path: two exposures of an API (or of two
    /// APIs in one service) at one path, or an exposure at `/healthz`, `/readyz` or `/metrics`,
    /// which every service serves itself. Give one a different `path:` or `prefix:`.
    RouteConflict = 706, "two routes share a path";
    /// The SLO names a component that does not exist.
    SloUnknownComponent = 801, "SLO on an unknown component";
    /// The component cannot measure that quantity: latency, availability and error rate are
    /// measured on APIs (per request) and on stores (per batch write); throughput on APIs,
    /// sources, transformers, stores and sinks.
    SloNotMeasurable = 802, "SLO quantity not measurable here";
    /// The comparison points the wrong way: latency and error rate are bounded from above
    /// (`<`, `<=`), availability and throughput from below (`>`, `>=`).
    SloDirection = 803, "SLO comparison points the wrong way";
    /// The objective is out of range: availability and error rate lie strictly between 0% and
    /// 100% (an availability of 100% leaves no error budget), a percentile strictly between 0
    /// and 100, a latency between 0 and an hour, a throughput between 0 and a billion per
    /// second, and the window between a week and a year (burn-rate alerts scale their windows
    /// with it; under a week the fastest would hold too few scrapes).
    SloObjective = 804, "SLO objective out of range";
    /// The value's unit does not fit the quantity: latency takes a duration, availability and
    /// error rate a percentage, throughput a rate.
    SloUnit = 805, "SLO value has the wrong unit";
    /// Two SLOs have the same name (given with `name:`, or made from the component and the
    /// quantity, such as `api_p99_latency`). Alerts and dashboards are named after SLOs, so the
    /// names must differ: remove the repeated SLO or name one of them.
    DuplicateSlo = 806, "duplicate SLO";
    /// Prometheus must scrape at least four times in the shortest window the rules and
    /// dashboards look at (five minutes, or one for burn-rate alerts), so the scrape interval
    /// lies between a second and a minute.
    ScrapeInterval = 807, "scrape interval out of range";
    /// No backend of that name is built in or loaded. `v5c backends` lists them.
    UnknownBackend = 901, "unknown backend";
    /// A backend failed to produce its files, for example a template error. This is a bug in
    /// the backend, not in the spec; please report it.
    BackendFailed = 902, "backend failed";
    /// The output could not be written. Nothing in the output directory was changed.
    OutputIo = 903, "cannot write output";
    /// A generated file was edited by hand since the last build. v5c stops rather than destroy
    /// the edit; move the change into a file meant for people, or pass `--force`.
    HandEdited = 904, "generated file edited by hand";
    /// Two backends would write the same output path.
    OutputConflict = 905, "two backends write one file";
    /// An output directory entry is in the way: a directory where a file must go, or the
    /// output path itself is a file.
    OutputBlocked = 906, "output path blocked";
}

impl Code {
    /// Parses `V5C0011`, `v5c0011` or `11`.
    pub fn parse(text: &str) -> Option<Code> {
        let digits = text
            .strip_prefix("V5C")
            .or_else(|| text.strip_prefix("v5c"))
            .unwrap_or(text);
        let number: u16 = digits.parse().ok()?;
        Code::ALL.iter().copied().find(|c| c.number() == number)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "V5C{:04}", self.number())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_explained() {
        let mut seen = HashSet::new();
        for &code in Code::ALL {
            assert!(seen.insert(code.number()), "{code} is used twice");
            assert!(
                code.explanation().trim().len() > 30,
                "{code} needs an explanation"
            );
            assert_eq!(Code::parse(&code.to_string()), Some(code));
        }
    }
}
