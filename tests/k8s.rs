//! The k8s backend: snapshots per example (`snapshots/k8s/`), Service selectors that match
//! pod labels, probes on the service's own paths and port, every variable the service reads
//! set from its ConfigMap or the Secret, one image name, every file the kustomization names
//! in the output; and, ignored in plain `cargo test` and run by `tools/test-all`,
//! `kubernetes-validate --strict` against Kubernetes 1.31 and yamllint.

mod common;

use common::{analyse, root, specs_in, stem, tool, write_files};

use std::collections::BTreeSet;
use std::path::PathBuf;
use v5c::backends::k8s::KUBERNETES_VERSION;

/// The examples, and the specs of `tests/fixtures/deploy/` that reach what the examples do
/// not: Kubernetes alone, MariaDB, external and SQLite databases there, a database no one
/// uses.
fn examples() -> Vec<PathBuf> {
    specs_in(&["examples", "tests/fixtures/deploy"])
}

fn build(analysed: &v5c::Analysed) -> v5c::backends::Output {
    common::build(analysed, "k8s")
}

/// Every manifest of the build.
fn manifests(files: &v5c::backends::FileSet) -> Vec<serde_yaml::Value> {
    use serde::Deserialize;
    let mut docs = Vec::new();
    for (path, contents) in files.iter() {
        if path.as_str().starts_with("k8s/") {
            for doc in serde_yaml::Deserializer::from_slice(contents) {
                docs.push(serde_yaml::Value::deserialize(doc).expect("a YAML document"));
            }
        }
    }
    docs
}

fn kind<'a>(docs: &'a [serde_yaml::Value], kind: &str) -> Vec<&'a serde_yaml::Value> {
    docs.iter()
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect()
}

/// Examples that deploy to Kubernetes, with their manifests.
fn deployed() -> Vec<(String, v5c::Analysed, v5c::backends::Output)> {
    examples()
        .iter()
        .map(|p| {
            let analysed = analyse(p);
            let output = build(&analysed);
            (stem(p), analysed, output)
        })
        .filter(|(_, a, _)| a.ir().targets.contains(&v5c::ir::Target::Kubernetes))
        .collect()
}

#[test]
fn k8s_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/k8s");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for (name, _, output) in deployed() {
            for (path, contents) in output.files.iter() {
                let p = path.as_str();
                if p.starts_with("k8s/") || p == "kustomization.yaml" {
                    let snap = format!("{name}@{}", p.replace('/', "__"));
                    insta::assert_snapshot!(snap, String::from_utf8_lossy(contents));
                }
            }
        }
    });
}

#[test]
fn no_kubernetes_target_no_manifests() {
    let path = root().join("examples/blog.yaml");
    let analysed = analyse(&path);
    assert!(!analysed.ir().targets.contains(&v5c::ir::Target::Kubernetes));
    let output = build(&analysed);
    assert!(
        output
            .files
            .iter()
            .all(|(p, _)| !p.as_str().starts_with("k8s/"))
    );
}

#[test]
fn output_is_deterministic() {
    for path in examples() {
        assert_eq!(build(&analyse(&path)).files, build(&analyse(&path)).files);
    }
}

#[test]
fn service_selectors_match_pod_labels() {
    let mut checked = 0;
    for (name, _, output) in deployed() {
        let docs = manifests(&output.files);
        let pods: Vec<&serde_yaml::Value> = ["Deployment", "StatefulSet"]
            .iter()
            .flat_map(|k| kind(&docs, k))
            .map(|d| &d["spec"]["template"]["metadata"]["labels"])
            .collect();
        let matches = |selector: &serde_yaml::Value| {
            pods.iter().any(|labels| {
                selector
                    .as_mapping()
                    .expect("a selector")
                    .iter()
                    .all(|(k, v)| &labels[k.as_str().expect("key")] == v)
            })
        };
        for service in kind(&docs, "Service") {
            let selector = &service["spec"]["selector"];
            assert!(
                matches(selector),
                "{name}: Service {:?} selects no pod",
                service["metadata"]["name"]
            );
            checked += 1;
        }
        for set in ["Deployment", "StatefulSet"]
            .iter()
            .flat_map(|k| kind(&docs, k))
        {
            let selector = &set["spec"]["selector"]["matchLabels"];
            let labels = &set["spec"]["template"]["metadata"]["labels"];
            for (k, v) in selector.as_mapping().expect("matchLabels") {
                assert_eq!(&labels[k.as_str().expect("key")], v, "{name}");
            }
        }
        for budget in kind(&docs, "PodDisruptionBudget") {
            assert!(
                matches(&budget["spec"]["selector"]["matchLabels"]),
                "{name}"
            );
        }
        for policy in kind(&docs, "NetworkPolicy") {
            assert!(
                matches(&policy["spec"]["podSelector"]["matchLabels"]),
                "{name}"
            );
        }
    }
    assert!(checked >= 10, "only {checked} Services were checked");
}

#[test]
fn probes_environment_and_images_agree_with_the_service() {
    for (name, analysed, output) in deployed() {
        let docs = manifests(&output.files);
        let deploy = &analysed.facts().deploy;
        let image = format!("{}:{}", deploy.image.name, deploy.image.tag);
        for service in &deploy.services {
            let deployment = kind(&docs, "Deployment")
                .into_iter()
                .find(|d| d["metadata"]["name"].as_str() == Some(&service.host))
                .unwrap_or_else(|| panic!("{name}: no Deployment for {}", service.name));
            let pod = &deployment["spec"]["template"]["spec"];
            let container = &pod["containers"][0];
            assert_eq!(container["image"].as_str(), Some(image.as_str()), "{name}");
            assert_eq!(
                container["ports"][0]["containerPort"].as_u64(),
                Some(u64::from(service.port))
            );
            let port_name = container["ports"][0]["name"].as_str();
            for (probe, path) in [
                ("livenessProbe", &service.liveness_path),
                ("readinessProbe", &service.readiness_path),
            ] {
                assert_eq!(
                    container[probe]["httpGet"]["path"].as_str(),
                    Some(path.as_str()),
                    "{name}: {probe}"
                );
                assert_eq!(container[probe]["httpGet"]["port"].as_str(), port_name);
            }
            let config_name = container["envFrom"][0]["configMapRef"]["name"]
                .as_str()
                .expect("a ConfigMap");
            let config = kind(&docs, "ConfigMap")
                .into_iter()
                .find(|c| c["metadata"]["name"].as_str() == Some(config_name))
                .expect("the ConfigMap is in the output");
            for var in &service.env {
                match &var.value {
                    Some(v) => assert_eq!(
                        config["data"][var.name.as_str()].as_str(),
                        Some(v.as_str()),
                        "{name}: {}",
                        var.name
                    ),
                    None => {
                        let env = container["env"]
                            .as_sequence()
                            .expect("env")
                            .iter()
                            .find(|e| e["name"].as_str() == Some(&var.name))
                            .unwrap_or_else(|| panic!("{name}: {} is not set", var.name));
                        assert!(
                            env["valueFrom"]["secretKeyRef"]["key"].as_str() == Some(&var.name),
                            "{name}: {} is not read from the Secret",
                            var.name
                        );
                        assert!(env.get("value").is_none(), "{name}: a secret has a value");
                    }
                }
            }
            let security = &container["securityContext"];
            assert_eq!(security["runAsNonRoot"].as_bool(), Some(true));
            assert_eq!(security["readOnlyRootFilesystem"].as_bool(), Some(true));
            assert_eq!(security["capabilities"]["drop"][0].as_str(), Some("ALL"));
        }
        // No Secret is written: they are referenced by name only.
        assert!(kind(&docs, "Secret").is_empty(), "{name}");
    }
}

#[test]
fn every_file_the_kustomization_names_is_in_the_output() {
    for (name, _, output) in deployed() {
        let written: BTreeSet<&str> = output.files.iter().map(|(p, _)| p.as_str()).collect();
        let k: serde_yaml::Value = serde_yaml::from_slice(
            output
                .files
                .get("kustomization.yaml")
                .expect("a kustomization"),
        )
        .expect("YAML");
        for r in k["resources"].as_sequence().expect("resources") {
            assert!(written.contains(r.as_str().expect("path")), "{name}: {r:?}");
        }
        for generator in k["configMapGenerator"].as_sequence().into_iter().flatten() {
            for file in generator["files"].as_sequence().expect("files") {
                let file = file.as_str().expect("text");
                let path = file.split_once('=').map_or(file, |(_, p)| p);
                assert!(written.contains(path), "{name}: {path} is not written");
            }
        }
        // Every ConfigMap a pod mounts is generated or written.
        let docs = manifests(&output.files);
        let mut config_maps: BTreeSet<String> = kind(&docs, "ConfigMap")
            .iter()
            .map(|c| c["metadata"]["name"].as_str().expect("name").to_owned())
            .collect();
        config_maps.extend(
            k["configMapGenerator"]
                .as_sequence()
                .into_iter()
                .flatten()
                .map(|g| g["name"].as_str().expect("name").to_owned()),
        );
        for set in ["Deployment", "StatefulSet"]
            .iter()
            .flat_map(|kd| kind(&docs, kd))
        {
            for volume in set["spec"]["template"]["spec"]["volumes"]
                .as_sequence()
                .into_iter()
                .flatten()
            {
                if let Some(cm) = volume["configMap"]["name"].as_str() {
                    assert!(config_maps.contains(cm), "{name}: no ConfigMap {cm}");
                }
            }
        }
    }
}

#[test]
#[ignore = "needs kubernetes-validate, kubectl and yamllint; run by tools/test-all"]
fn kubernetes_validate_and_yamllint_accept_every_example() {
    let base = root().join("target/k8s-check");
    let _ = std::fs::remove_dir_all(&base);
    let mut checked = 0;
    for (name, analysed, output) in deployed() {
        let dir = base.join(&name);
        write_files(&output.files, &dir);
        let k8s_files: Vec<String> = output
            .files
            .iter()
            .map(|(p, _)| p.as_str().to_owned())
            .filter(|p| p.starts_with("k8s/"))
            .collect();
        let out = tool("kubernetes-validate", "pip package `kubernetes-validate`")
            .current_dir(&dir)
            .args(["--strict", "--quiet", "-k", KUBERNETES_VERSION])
            .args(&k8s_files)
            .output()
            .expect("kubernetes-validate runs");
        assert!(
            out.status.success(),
            "{name}: kubernetes-validate --strict failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // kustomize builds it: every resource and generated file is found, and references to
        // the generated ConfigMaps are rewritten to their hashed names.
        let out = tool("kubectl", "kubectl (on this machine kind)")
            .current_dir(&dir)
            .args(["kustomize", "."])
            .output()
            .expect("kubectl runs");
        assert!(
            out.status.success(),
            "{name}: kubectl kustomize failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let built = String::from_utf8_lossy(&out.stdout);
        if analysed.facts().deploy.monitoring.is_some() {
            // Defined and mounted by its hashed name, never by the bare one.
            assert!(
                built.contains("name: prometheus-config-")
                    && !built.contains("name: prometheus-config\n"),
                "{name}: the generated ConfigMap keeps its bare name"
            );
        }
        let out = tool("yamllint", "Debian package `yamllint`")
            .current_dir(&dir)
            .args([
                "--strict",
                "-d",
                "{extends: default, rules: {line-length: disable, document-start: disable, indentation: {indent-sequences: consistent}}}",
                "k8s",
                "kustomization.yaml",
            ])
            .output()
            .expect("yamllint runs");
        assert!(
            out.status.success(),
            "{name}: yamllint failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        checked += k8s_files.len();
    }
    assert!(checked >= 8, "only {checked} manifest files were checked");
}

#[test]
#[ignore = "needs kubernetes-validate; run by tools/test-all"]
fn kubernetes_validate_is_not_a_rubber_stamp() {
    let dir = root().join("target/k8s-check-bad");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("bad.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicaz: 2\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: x, image: x}]}}\n",
    )
    .expect("write");
    let out = tool("kubernetes-validate", "pip package `kubernetes-validate`")
        .current_dir(&dir)
        .args(["--strict", "--quiet", "-k", KUBERNETES_VERSION, "bad.yaml"])
        .output()
        .expect("kubernetes-validate runs");
    assert!(!out.status.success(), "a misspelt field passed --strict");
}

#[test]
fn network_policies_admit_exactly_the_clients_of_each_database() {
    let mut checked = 0;
    for (name, analysed, output) in deployed() {
        let docs = manifests(&output.files);
        let deploy = &analysed.facts().deploy;
        for db in analysed.ir().databases.values() {
            if db.external || db.engine == v5c::ir::Engine::Sqlite {
                continue;
            }
            let host = v5c::passes::host_name(&db.name);
            let policy = kind(&docs, "NetworkPolicy")
                .into_iter()
                .find(|p| p["metadata"]["name"].as_str() == Some(&format!("{host}-clients")))
                .unwrap_or_else(|| panic!("{name}: no NetworkPolicy for {}", db.name));
            let mut wanted: BTreeSet<String> = deploy
                .services
                .iter()
                .filter(|s| s.databases.contains(&db.name))
                .map(|s| s.host.clone())
                .collect();
            if deploy.monitoring.is_some() {
                wanted.extend(
                    deploy
                        .exporters
                        .iter()
                        .filter(|e| e.database == db.name)
                        .map(|e| e.host.clone()),
                );
            }
            let admitted: BTreeSet<String> = policy["spec"]["ingress"]
                .as_sequence()
                .expect("ingress")
                .iter()
                .flat_map(|rule| rule["from"].as_sequence().expect("from").iter())
                .flat_map(|from| {
                    from["podSelector"]["matchExpressions"][0]["values"]
                        .as_sequence()
                        .expect("values")
                        .iter()
                        .map(|v| v.as_str().expect("text").to_owned())
                })
                .collect();
            assert_eq!(admitted, wanted, "{name}: who reaches {}", db.name);
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} policies were checked");
}

#[test]
fn service_ports_and_init_containers_point_at_real_things() {
    for (name, analysed, output) in deployed() {
        let docs = manifests(&output.files);
        let image = &analysed.facts().deploy.image;
        let pods: Vec<&serde_yaml::Value> = ["Deployment", "StatefulSet"]
            .iter()
            .flat_map(|k| kind(&docs, k))
            .collect();
        for service in kind(&docs, "Service") {
            let selector = service["spec"]["selector"].as_mapping().expect("selector");
            let pod = pods
                .iter()
                .find(|p| {
                    selector.iter().all(|(k, v)| {
                        &p["spec"]["template"]["metadata"]["labels"][k.as_str().expect("key")] == v
                    })
                })
                .expect("a pod (see service_selectors_match_pod_labels)");
            let names: BTreeSet<&str> = pod["spec"]["template"]["spec"]["containers"]
                .as_sequence()
                .expect("containers")
                .iter()
                .flat_map(|c| c["ports"].as_sequence().into_iter().flatten())
                .filter_map(|p| p["name"].as_str())
                .collect();
            for port in service["spec"]["ports"].as_sequence().expect("ports") {
                let target = port["targetPort"].as_str().expect("a named targetPort");
                assert!(
                    names.contains(target),
                    "{name}: Service {:?} targets port {target}, which its pods do not name",
                    service["metadata"]["name"]
                );
            }
        }
        for service in &analysed.facts().deploy.services {
            let deployment = kind(&docs, "Deployment")
                .into_iter()
                .find(|d| d["metadata"]["name"].as_str() == Some(&service.host))
                .expect("a Deployment");
            let pod = &deployment["spec"]["template"]["spec"];
            let init = &pod["initContainers"][0];
            let args: Vec<&str> = init["args"]
                .as_sequence()
                .expect("args")
                .iter()
                .map(|a| a.as_str().expect("text"))
                .collect();
            assert_eq!(
                args,
                image.migrate.iter().map(String::as_str).collect::<Vec<_>>()
            );
            assert_eq!(init["envFrom"], pod["containers"][0]["envFrom"]);
            assert_eq!(init["env"], pod["containers"][0]["env"]);
            assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(false));
        }
        for pod in &pods {
            let spec = &pod["spec"]["template"]["spec"];
            for c in spec["containers"]
                .as_sequence()
                .into_iter()
                .flatten()
                .chain(spec["initContainers"].as_sequence().into_iter().flatten())
            {
                assert!(
                    c["resources"]["limits"]["memory"].is_string(),
                    "{name}: container {:?} has no memory limit",
                    c["name"]
                );
            }
        }
    }
}
