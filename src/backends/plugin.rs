//! Plugin backends: an executable outside v5c that reads a JSON request on stdin and writes a
//! JSON answer on stdout (protocol `v5c-backend/1`, written down in `docs/backends.md`).
//!
//! `--backend NAME` finds `v5c-backend-NAME` on `PATH`; `--backend ./path/to/program` (any
//! name with a `/`) runs that file. The answer is parsed strictly: unknown fields, a wrong
//! protocol, a path that is absolute or leaves the output folder, a non-zero exit, no answer
//! within the time limit (`V5C_PLUGIN_TIMEOUT`, seconds, default 60) are each an error that
//! quotes the plugin's stderr. Nothing is written unless every backend succeeded.

use super::{Backend, Emitted, ReportKind};
use crate::Analysed;
use crate::diag::{Code, Diagnostic, Diagnostics};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const PROTOCOL: &str = "v5c-backend/1";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The most of stderr quoted in a diagnostic.
const STDERR_QUOTED: usize = 4_000;

pub struct PluginBackend {
    name: String,
    program: PathBuf,
    description: String,
}

/// What the plugin reads on stdin.
#[derive(Serialize)]
struct Request<'a> {
    protocol: &'static str,
    backend: &'a str,
    /// Options for the plugin; none are defined yet, so always an empty object.
    options: serde_json::Map<String, serde_json::Value>,
    /// The analysed IR, exactly as `v5c ir --format json` prints it.
    ir: &'a Analysed,
}

/// What the plugin writes on stdout.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    protocol: String,
    #[serde(default)]
    files: Vec<AnswerFile>,
    #[serde(default)]
    diagnostics: Vec<AnswerDiagnostic>,
    #[serde(default)]
    report: Vec<AnswerReport>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerFile {
    path: String,
    contents: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerDiagnostic {
    severity: AnswerSeverity,
    message: String,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum AnswerSeverity {
    Error,
    Warning,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerReport {
    kind: ReportKind,
    subject: String,
    detail: String,
}

impl PluginBackend {
    /// The plugin `name` names: a path when it holds a `/`, else `v5c-backend-NAME` on `PATH`.
    pub fn find(name: &str) -> Option<PluginBackend> {
        let program = if name.contains('/') {
            let path = PathBuf::from(name);
            path.is_file().then_some(path)?
        } else {
            let file = format!("v5c-backend-{name}");
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(&file))
                    .find(|p| is_executable(p))
            })?
        };
        let short = program.file_name().map_or_else(
            || name.to_owned(),
            |f| {
                f.to_string_lossy()
                    .trim_start_matches("v5c-backend-")
                    .to_owned()
            },
        );
        Some(PluginBackend {
            description: format!("plugin {}", program.display()),
            name: if name.contains('/') {
                short
            } else {
                name.to_owned()
            },
            program,
        })
    }

    /// The program it runs.
    pub fn program(&self) -> &std::path::Path {
        &self.program
    }

    fn fail_one(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(
            Code::BackendFailed,
            format!(
                "plugin `{}` ({}): {}",
                self.name,
                self.program.display(),
                message.into()
            ),
        )
        .help("docs/backends.md describes what a plugin reads and must answer")
    }

    fn fail(&self, message: impl Into<String>) -> Diagnostics {
        self.fail_one(message).into()
    }
}

fn is_executable(path: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    path.is_file()
}

fn quoted(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim_end();
    if text.is_empty() {
        return "it wrote nothing on stderr".to_owned();
    }
    let cut: String = text.chars().take(STDERR_QUOTED).collect();
    format!("its stderr:\n{cut}")
}

/// The longest time limit `V5C_PLUGIN_TIMEOUT` may set: a day.
const MAX_TIMEOUT_SECONDS: f64 = 86_400.0;

/// `V5C_PLUGIN_TIMEOUT` seconds (a fraction allowed, up to a day), or 60 s when it is not set
/// or not such a number.
fn timeout() -> Duration {
    std::env::var("V5C_PLUGIN_TIMEOUT")
        .ok()
        .and_then(|t| t.trim().parse::<f64>().ok())
        .filter(|t| t.is_finite() && *t > 0.0)
        .map_or(DEFAULT_TIMEOUT, |t| {
            Duration::from_secs_f64(t.min(MAX_TIMEOUT_SECONDS))
        })
}

/// Stops every process of the plugin's group (the plugin and what it started).
fn kill_group(pid: u32) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
    }
    #[cfg(not(unix))]
    let _ = pid;
}

impl Backend for PluginBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn emit(&self, analysed: &Analysed) -> Result<Emitted, Diagnostics> {
        let request = serde_json::to_vec(&Request {
            protocol: PROTOCOL,
            backend: &self.name,
            options: serde_json::Map::new(),
            ir: analysed,
        })
        .expect("the request serialises");
        let mut command = Command::new(&self.program);
        // Its own process group, so that what it starts ends with it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.fail(format!("cannot be started: {e}")))?;
        // Feed stdin and drain stdout and stderr on their own threads, so a plugin that
        // writes before it has read everything cannot deadlock with us.
        let mut stdin = child.stdin.take().expect("piped");
        let writer = std::thread::spawn(move || {
            // A plugin may exit without reading its request; that is its business.
            let _ = stdin.write_all(&request);
        });
        let mut stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let out_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stdout.read_to_end(&mut buf);
            buf
        });
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let limit = timeout();
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() >= limit => {
                    kill_group(child.id());
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = writer.join();
                    let stderr = err_reader.join().unwrap_or_default();
                    return Err(self.fail(format!(
                        "gave no answer within {} s and was stopped; {}",
                        limit.as_secs_f64(),
                        quoted(&stderr)
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(self.fail(format!("cannot be waited for: {e}"))),
            }
        };
        // Whatever it left running would hold its pipes open.
        kill_group(child.id());
        let _ = writer.join();
        let stdout = out_reader.join().unwrap_or_default();
        let stderr = err_reader.join().unwrap_or_default();
        if !status.success() {
            return Err(self.fail(format!("exited with {status}; {}", quoted(&stderr))));
        }
        let answer: Answer = serde_json::from_slice(&stdout).map_err(|e| {
            self.fail(format!(
                "its answer is not a `{PROTOCOL}` answer: {e}; {}",
                quoted(&stderr)
            ))
        })?;
        if answer.protocol != PROTOCOL {
            return Err(self.fail(format!(
                "it answers in protocol `{}`; v5c speaks `{PROTOCOL}`",
                answer.protocol
            )));
        }
        let mut diags = Diagnostics::new();
        let mut emitted = Emitted::default();
        for d in answer.diagnostics {
            match d.severity {
                AnswerSeverity::Error => diags.push(self.fail_one(d.message)),
                // A warning goes in the lowering report, which a reviewer reads.
                AnswerSeverity::Warning => emitted
                    .report
                    .approximated(format!("plugin {}", self.name), d.message),
            }
        }
        for file in answer.files {
            if let Err(e) = emitted.files.add(file.path, file.contents) {
                diags.push(self.fail_one(e));
            }
        }
        for r in answer.report {
            match r.kind {
                ReportKind::Approximated => emitted.report.approximated(r.subject, r.detail),
                ReportKind::Dropped => emitted.report.dropped(r.subject, r.detail),
            }
        }
        if diags.has_errors() {
            return Err(diags);
        }
        Ok(emitted)
    }
}
