//! The command line. Exit codes: 0 success (warnings allowed), 1 the spec has errors,
//! 2 usage or I/O problems (including an output directory v5c refuses to overwrite).

use crate::diag::{self, Code, Diagnostic, Diagnostics};
use crate::passes::{self, PassName};
use crate::source::SourceFile;
use camino::{Utf8Path, Utf8PathBuf};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "v5c",
    version,
    about = "A compiler for software systems: a typed YAML system spec in, checked artefacts out."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How to print diagnostics: for people, or one JSON object per line (on stdout) for tools.
    #[arg(long, global = true, value_enum, default_value_t = MessageFormat::Human)]
    message_format: MessageFormat,
    /// When to colour diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = Colour::Auto)]
    color: Colour,
}

#[derive(Subcommand)]
enum Command {
    /// Write a spec from a description in plain words: `v5c new "an online shop on
    /// PostgreSQL with customers and orders"`. Every derived line quotes its words; what was
    /// not understood is listed at the top and printed as warnings.
    New {
        /// The description.
        #[arg(required_unless_present = "from", conflicts_with = "from")]
        description: Option<String>,
        /// Read the description from a file (`-` for standard input).
        #[arg(long, value_name = "FILE")]
        from: Option<Utf8PathBuf>,
        /// Where to write the spec; `spec.schema.json` is written beside it for editors.
        #[arg(short, long, default_value = "system.yaml")]
        output: Utf8PathBuf,
        /// Overwrite the spec if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Check a spec: load it, lower it and run every analysis pass.
    Check {
        /// The spec file.
        spec: Utf8PathBuf,
    },
    /// Print a spec's IR, after every pass or after the one named.
    Ir {
        spec: Utf8PathBuf,
        /// Stop after this stage.
        #[arg(long, value_enum)]
        after: Option<Stage>,
        #[arg(long, value_enum, default_value_t = Format::Yaml)]
        format: Format,
    },
    /// Check a spec and run backends into an output directory, which changes only if every
    /// backend succeeds.
    Build {
        spec: Utf8PathBuf,
        /// The output directory.
        #[arg(short, long)]
        output: Utf8PathBuf,
        /// A backend to run (repeatable): built in, or a plugin (`v5c-backend-NAME` on PATH, or
        /// a path to a program). All built-in backends when no backend is named.
        #[arg(long = "backend", value_name = "NAME")]
        backends: Vec<String>,
        /// A template-folder backend to run (repeatable): a folder with a `backend.yaml`.
        #[arg(long = "backend-dir", value_name = "PATH")]
        backend_dirs: Vec<Utf8PathBuf>,
        /// Overwrite generated files edited by hand, and files v5c did not write.
        #[arg(long)]
        force: bool,
    },
    /// Print a JSON Schema: of the spec, or of the IR that backends and plugins receive.
    Schema {
        #[arg(value_enum)]
        which: SchemaKind,
    },
    /// Explain a diagnostic code, such as V5C0011; with no code, list them all.
    Explain { code: Option<String> },
    /// List the backends.
    Backends,
}

#[derive(Clone, Copy, ValueEnum)]
enum MessageFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Colour {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Yaml,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaKind {
    Spec,
    Ir,
}

/// Where `v5c ir --after` stops: lowering, or a pass.
#[derive(Clone, Copy, ValueEnum)]
enum Stage {
    Lower,
    Resolve,
    Types,
    Flows,
    Graph,
    Database,
    Deploy,
    Observe,
}

impl Stage {
    fn pass(self) -> Option<PassName> {
        Some(match self {
            Stage::Lower => return None,
            Stage::Resolve => PassName::Resolve,
            Stage::Types => PassName::Types,
            Stage::Flows => PassName::Flows,
            Stage::Graph => PassName::Graph,
            Stage::Database => PassName::Database,
            Stage::Deploy => PassName::Deploy,
            Stage::Observe => PassName::Observe,
        })
    }
}

const SPEC_ERRORS: u8 = 1;
const USAGE_OR_IO: u8 = 2;

struct Reporter {
    format: MessageFormat,
    colour: bool,
}

impl Reporter {
    fn report(&self, diagnostics: &Diagnostics) {
        match self.format {
            MessageFormat::Human => {
                if diagnostics.is_empty() {
                    return;
                }
                let width = std::env::var("COLUMNS")
                    .ok()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(100);
                let text = diag::render_graphical(diagnostics, width, self.colour);
                let _ = std::io::stderr().write_all(text.as_bytes());
            }
            MessageFormat::Json => {
                let _ = std::io::stdout().write_all(diag::render_json(diagnostics).as_bytes());
            }
        }
    }

    /// A line for people on stderr; JSON consumers see only diagnostics.
    fn say(&self, line: &str) {
        if matches!(self.format, MessageFormat::Human) {
            eprintln!("{line}");
        }
    }

    fn fail(&self, diagnostics: &Diagnostics, code: u8) -> ExitCode {
        let errors = diagnostics.error_count();
        self.report(diagnostics);
        if errors > 0 {
            self.say(&format!(
                "error: {} found",
                count(errors, "error", "errors")
            ));
        }
        ExitCode::from(code)
    }
}

fn read_spec(path: &Utf8Path) -> Result<Arc<SourceFile>, Diagnostic> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(SourceFile::new(path.as_str(), text)),
            Err(e) => Err(Diagnostic::error(
                Code::Io,
                format!(
                    "`{path}` is not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )),
        },
        Err(e) => Err(Diagnostic::error(
            Code::Io,
            format!("cannot read `{path}`: {e}"),
        )),
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let colour = match cli.color {
        Colour::Always => true,
        Colour::Never => false,
        Colour::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let reporter = Reporter {
        format: cli.message_format,
        colour,
    };
    match cli.command {
        Command::Check { spec } => check(&reporter, &spec),
        Command::Ir {
            spec,
            after,
            format,
        } => ir(&reporter, &spec, after, format),
        Command::Build {
            spec,
            output,
            backends,
            backend_dirs,
            force,
        } => build(&reporter, &spec, &output, &backends, &backend_dirs, force),
        Command::Schema { which } => {
            let schema = match which {
                SchemaKind::Spec => crate::spec::schema::spec_schema().clone(),
                SchemaKind::Ir => crate::ir::ir_schema(),
            };
            print!("{}", crate::spec::schema::to_pretty_json(&schema));
            ExitCode::SUCCESS
        }
        Command::New {
            description,
            from,
            output,
            force,
        } => new(&reporter, description, from.as_deref(), &output, force),
        Command::Explain { code } => explain(code.as_deref()),
        Command::Backends => {
            for backend in crate::backends::builtin() {
                println!("{:<12} {}", backend.name(), backend.description());
            }
            ExitCode::SUCCESS
        }
    }
}

/// `v5c new`: a description in, a spec out, checked before it is written; an existing spec
/// is never overwritten without `--force`.
fn new(
    reporter: &Reporter,
    description: Option<String>,
    from: Option<&Utf8Path>,
    output: &Utf8Path,
    force: bool,
) -> ExitCode {
    let io =
        |message: String| reporter.fail(&Diagnostic::error(Code::Io, message).into(), USAGE_OR_IO);
    let text = match (description, from) {
        (Some(text), _) => text,
        (None, Some(path)) if path.as_str() == "-" => {
            let mut text = String::new();
            if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
                return io(format!("cannot read standard input: {e}"));
            }
            text
        }
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => return io(format!("cannot read `{path}`: {e}")),
        },
        (None, None) => return io("no description: give one, or --from FILE".into()),
    };
    if text.trim().is_empty() {
        return io("the description is empty".into());
    }
    if output.exists() && !force {
        return io(format!(
            "`{output}` exists; v5c new does not overwrite it (use --force, or -o another path)"
        ));
    }
    let written = crate::nl::new_spec(&text);
    // What v5c new writes must check: anything else is a bug here, not the user's.
    let file = SourceFile::new(output.as_str(), written.yaml.clone());
    if let Err(d) = crate::check(&file) {
        reporter.report(&d);
        return io(format!(
            "v5c new wrote a spec that does not check (a bug: please report it with the description); nothing was written to `{output}`"
        ));
    }
    for words in &written.unknown {
        reporter.say(&format!("warning: not understood: \"{words}\""));
    }
    for note in &written.notes {
        reporter.say(&format!("warning: {note}"));
    }
    let schema = output.parent().map_or_else(
        || Utf8PathBuf::from("spec.schema.json"),
        |p| p.join("spec.schema.json"),
    );
    let schema_text = crate::spec::schema::to_pretty_json(crate::spec::schema::spec_schema());
    if let Err(e) = std::fs::write(output, &written.yaml) {
        return io(format!("cannot write `{output}`: {e}"));
    }
    if std::fs::read_to_string(&schema).ok().as_deref() != Some(schema_text.as_str()) {
        if let Err(e) = std::fs::write(&schema, schema_text) {
            return io(format!("cannot write `{schema}`: {e}"));
        }
    }
    reporter.say(&format!(
        "wrote `{output}` ({} not understood); check it with `v5c check {output}`",
        count(written.unknown.len(), "phrase", "phrases")
    ));
    ExitCode::SUCCESS
}

fn check(reporter: &Reporter, path: &Utf8Path) -> ExitCode {
    let file = match read_spec(path) {
        Ok(file) => file,
        Err(d) => return reporter.fail(&d.into(), USAGE_OR_IO),
    };
    match crate::check(&file) {
        Ok(analysed) => {
            reporter.report(analysed.warnings());
            let ir = analysed.ir();
            let warnings = analysed.warnings().len();
            reporter.say(&format!(
                "ok: `{}` has {}, {}, {}, {} and {}{}",
                ir.system.name,
                count(ir.entities.len(), "entity", "entities"),
                count(ir.components.len(), "component", "components"),
                count(ir.flows.len(), "flow", "flows"),
                count(ir.services.len(), "service", "services"),
                count(ir.slos.len(), "SLO", "SLOs"),
                match warnings {
                    0 => String::new(),
                    n => format!("; {}", count(n, "warning", "warnings")),
                }
            ));
            ExitCode::SUCCESS
        }
        Err(diagnostics) => reporter.fail(&diagnostics, SPEC_ERRORS),
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn ir(reporter: &Reporter, path: &Utf8Path, after: Option<Stage>, format: Format) -> ExitCode {
    let file = match read_spec(path) {
        Ok(file) => file,
        Err(d) => return reporter.fail(&d.into(), USAGE_OR_IO),
    };
    let spec = match crate::load_spec(&file) {
        Ok(spec) => spec,
        Err(diagnostics) => return reporter.fail(&diagnostics, SPEC_ERRORS),
    };
    let mut ir = match crate::spec_to_ir(&spec) {
        Ok(ir) => ir,
        Err(mut diagnostics) => {
            diagnostics.attach_file(&file);
            return reporter.fail(&diagnostics, SPEC_ERRORS);
        }
    };
    let mut facts = passes::Facts::default();
    let last = match after {
        Some(stage) => stage.pass(),
        None => Some(PassName::Observe),
    };
    let mut diagnostics = if after.is_some_and(|s| s.pass().is_none()) {
        Diagnostics::new()
    } else {
        passes::run_passes(&mut ir, &mut facts, last)
    };
    diagnostics.attach_file(&file);
    diagnostics.sort();
    if diagnostics.has_errors() {
        return reporter.fail(&diagnostics, SPEC_ERRORS);
    }
    reporter.report(&diagnostics);
    let partial = passes::Partial {
        ir: &ir,
        facts: &facts,
    };
    let text = match format {
        Format::Yaml => crate::ir_to_yaml(&partial),
        Format::Json => crate::ir_to_json(&partial),
    };
    print!("{text}");
    ExitCode::SUCCESS
}

fn build(
    reporter: &Reporter,
    path: &Utf8Path,
    output: &Utf8Path,
    names: &[String],
    dirs: &[Utf8PathBuf],
    force: bool,
) -> ExitCode {
    // Named backends, or every built-in one when neither a name nor a folder is given.
    let mut backends = if names.is_empty() && !dirs.is_empty() {
        Vec::new()
    } else {
        match crate::backends::select(names) {
            Ok(backends) => backends,
            Err(d) => return reporter.fail(&d.into(), USAGE_OR_IO),
        }
    };
    for dir in dirs {
        match crate::backends::folder::FolderBackend::load(dir) {
            Ok(b) => backends.push(Box::new(b)),
            Err(d) => return reporter.fail(&d, USAGE_OR_IO),
        }
    }
    let file = match read_spec(path) {
        Ok(file) => file,
        Err(d) => return reporter.fail(&d.into(), USAGE_OR_IO),
    };
    let analysed = match crate::check(&file) {
        Ok(analysed) => analysed,
        Err(diagnostics) => return reporter.fail(&diagnostics, SPEC_ERRORS),
    };
    reporter.report(analysed.warnings());
    // The template folders the spec names, relative to the spec.
    let spec_dir = path.parent().unwrap_or(Utf8Path::new(""));
    for (written, span) in analysed
        .ir()
        .backends
        .iter()
        .zip(&analysed.ir().spans.backends)
    {
        let dir = spec_dir.join(written);
        if !dir.join(crate::backends::folder::MANIFEST).is_file() {
            let mut d: Diagnostics = Diagnostic::error(
                Code::UnknownBackend,
                format!("`{dir}` holds no `{}`", crate::backends::folder::MANIFEST),
            )
            .label(*span, "no template-folder backend here")
            .help("a path relative to the spec, to a folder with a backend.yaml (see docs/backends.md)")
            .into();
            d.attach_file(&file);
            return reporter.fail(&d, SPEC_ERRORS);
        }
        match crate::backends::folder::FolderBackend::load(&dir) {
            Ok(b) => backends.push(Box::new(b)),
            Err(d) => return reporter.fail(&d, USAGE_OR_IO),
        }
    }
    let built = match crate::emit(&analysed, &backends) {
        Ok(built) => built,
        Err(diagnostics) => return reporter.fail(&diagnostics, USAGE_OR_IO),
    };
    match crate::backends::output::write(output, &built.files, force) {
        Ok(summary) => {
            reporter.say(&format!(
                "built `{}` into `{output}`: {} written, {} unchanged, {} removed",
                analysed.ir().system.name,
                summary.written.len(),
                summary.unchanged.len(),
                summary.removed.len()
            ));
            for (backend, report) in &built.reports {
                if !report.entries.is_empty() {
                    reporter.say(&format!(
                        "  {backend}: {} approximation(s) or omission(s), see {}",
                        report.entries.len(),
                        output.join(crate::backends::REPORT_FILE)
                    ));
                }
            }
            ExitCode::SUCCESS
        }
        Err(diagnostics) => reporter.fail(&diagnostics, USAGE_OR_IO),
    }
}

fn explain(code: Option<&str>) -> ExitCode {
    let Some(text) = code else {
        for code in Code::ALL {
            println!("{code}  {}", code.title());
        }
        return ExitCode::SUCCESS;
    };
    let Some(code) = Code::parse(text) else {
        eprintln!(
            "error: `{text}` is not a v5c diagnostic code; codes look like V5C0011, and `v5c explain` lists them"
        );
        return ExitCode::from(USAGE_OR_IO);
    };
    println!(
        "{code}: {}\n\n{}",
        code.title(),
        code.explanation().trim_end()
    );
    ExitCode::SUCCESS
}
