//! The `k8s` backend: Kubernetes manifests for every service, database, exporter and the
//! monitoring stack, and a `kustomization.yaml` at the root of the output that ties them
//! together and turns the monitoring backend's files into ConfigMaps.
//!
//! - A service is a Deployment (labels `app.kubernetes.io/*`, liveness and readiness probes on
//!   the paths the service serves, resources from the spec, non-root, read-only root
//!   filesystem, no capabilities, an init container that applies the schema), a Service, a
//!   headless `NAME-pods` Service for Prometheus, a ConfigMap of its settings, and a
//!   PodDisruptionBudget and HorizontalPodAutoscaler when it has more than one replica.
//!   SQLite lives on a volume claim, with one replica and the `Recreate` strategy.
//! - A database the deployment runs is a StatefulSet with a volume claim and a headless
//!   Service, behind a NetworkPolicy that admits only the services that use it and its
//!   exporter.
//! - Credentials are read from the Secret `SYSTEM-credentials`, by name and key; no Secret
//!   is written. `kubectl create secret generic SYSTEM-credentials --from-env-file=.env`
//!   makes it from the same `.env` compose reads.

use super::docker::{
    GRAFANA_IMAGE, GRAFANA_PASSWORD_ENV, PROMETHEUS_IMAGE, database_server, exporter_image,
};
use super::monitoring::{
    GRAFANA_DASHBOARDS_DIR, GRAFANA_DASHBOARDS_PATH, GRAFANA_PROVISIONING_DIR, PROMETHEUS_DIR,
};
use super::{Backend, Emitted};
use crate::Analysed;
use crate::diag::Diagnostics;
use crate::ir::{Engine, Target};
use crate::passes::{database_env, host_name};
use serde_json::{Value, json};

pub struct K8sBackend;

/// The Kubernetes version the manifests are written for and checked against.
pub const KUBERNETES_VERSION: &str = "1.31.0";
/// The size of each database's volume claim; the spec has no word for it yet.
pub const DATABASE_STORAGE: &str = "10Gi";
pub const SQLITE_STORAGE: &str = "1Gi";

fn labels(system: &str, name: &str, component: &str, version: &str) -> Value {
    json!({
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": system,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/version": version,
        "app.kubernetes.io/managed-by": "v5c",
    })
}

fn selector(system: &str, name: &str) -> Value {
    json!({
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": system,
    })
}

/// Whether a Service has a cluster address, or gives each pod a DNS address of its own.
#[derive(Clone, Copy, PartialEq)]
enum Headless {
    No,
    Yes,
    /// Headless, and pods not ready yet are listed too (for Prometheus, which must see them).
    PublishingNotReady,
}

/// The Service `name` for the pods of `app`, on one named port.
fn service_manifest(
    system: &str,
    version: &str,
    component: &str,
    (name, app): (&str, &str),
    (port_name, port): (&str, u16),
    headless: Headless,
) -> Value {
    let mut spec = serde_json::Map::new();
    if headless != Headless::No {
        spec.insert("clusterIP".into(), json!("None"));
    }
    if headless == Headless::PublishingNotReady {
        spec.insert("publishNotReadyAddresses".into(), json!(true));
    }
    spec.insert("selector".into(), selector(system, app));
    spec.insert(
        "ports".into(),
        json!([{ "name": port_name, "port": port, "targetPort": port_name }]),
    );
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": { "name": name, "labels": labels(system, app, component, version) },
        "spec": spec,
    })
}

fn millicores(m: u32) -> String {
    format!("{m}m")
}

fn mebibytes(bytes: u64) -> String {
    if bytes % (1 << 30) == 0 {
        format!("{}Gi", bytes >> 30)
    } else if bytes % (1 << 20) == 0 {
        format!("{}Mi", bytes >> 20)
    } else {
        bytes.to_string()
    }
}

fn restricted(uid: u32) -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": uid,
        "runAsGroup": uid,
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": { "drop": ["ALL"] },
    })
}

/// Requests and limits for what the spec gives no resources: databases, exporters,
/// Prometheus and Grafana. (requests cpu, memory; limits cpu, memory)
fn resources(cpu: &str, memory: &str, cpu_limit: &str, memory_limit: &str) -> Value {
    json!({
        "requests": { "cpu": cpu, "memory": memory },
        "limits": { "cpu": cpu_limit, "memory": memory_limit },
    })
}

fn pod_security(uid: u32) -> Value {
    json!({
        "runAsNonRoot": true,
        "fsGroup": uid,
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

fn document(values: &[Value]) -> String {
    let mut text = String::new();
    for value in values {
        text.push_str("---\n");
        text.push_str(&serde_yaml::to_string(value).expect("a manifest serialises"));
    }
    text
}

fn header(system: &str) -> String {
    format!(
        "# Generated by v5c {} from the spec of {system}. Do not edit: `v5c build` rewrites it.\n",
        env!("CARGO_PKG_VERSION")
    )
}

impl Backend for K8sBackend {
    fn name(&self) -> &'static str {
        "k8s"
    }

    fn description(&self) -> &'static str {
        "Kubernetes manifests and a kustomization, with databases and the monitoring stack"
    }

    /// `docker` for the Dockerfile the image is built from and `.env.example`, the list of
    /// the Secret's keys; `monitoring` for the files the kustomization turns into ConfigMaps.
    fn needs(&self) -> &'static [&'static str] {
        &["monitoring", "docker"]
    }

    #[allow(clippy::too_many_lines)]
    fn emit(&self, analysed: &Analysed) -> Result<Emitted, Diagnostics> {
        let mut emitted = Emitted::default();
        let ir = analysed.ir();
        if !ir.targets.contains(&Target::Kubernetes) {
            emitted.report.dropped(
                "deploy.targets",
                "kubernetes is not a deploy target: no manifests",
            );
            return Ok(emitted);
        }
        let facts = &analysed.facts().deploy;
        let system = ir.system.name.as_str();
        let version = ir.system.version.as_str();
        let credentials = format!("{system}-credentials");
        let image = &facts.image;
        let image_ref = format!("{}:{}", image.name, image.tag);
        let mut files: Vec<(String, String)> = Vec::new();

        // Which services use each database, for its NetworkPolicy.
        let users_of = |db: &str| -> Vec<String> {
            facts
                .services
                .iter()
                .filter(|s| s.databases.iter().any(|d| d == db))
                .map(|s| s.host.clone())
                .collect()
        };

        for service in &facts.services {
            let spec = ir
                .services
                .values()
                .find(|s| s.name == service.name)
                .expect("facts name the IR's services");
            let name = service.host.as_str();
            let config_name = format!("{name}-config");
            let config: serde_json::Map<String, Value> = service
                .env
                .iter()
                .filter_map(|e| Some((e.name.clone(), Value::String(e.value.clone()?))))
                .collect();
            let secrets: Vec<Value> = service
                .env
                .iter()
                .filter(|e| e.value.is_none())
                .map(|e| secret_env_as(&credentials, &e.name, &e.name))
                .collect();
            let sqlite: Vec<&str> = service
                .databases
                .iter()
                .filter(|d| {
                    ir.databases
                        .values()
                        .any(|x| &x.name == *d && x.engine == Engine::Sqlite)
                })
                .map(String::as_str)
                .collect();
            let mut mounts = vec![json!({ "name": "tmp", "mountPath": "/tmp" })];
            let mut volumes = vec![json!({ "name": "tmp", "emptyDir": {} })];
            let mut claims = Vec::new();
            if !sqlite.is_empty() {
                let claim = format!("{name}-data");
                mounts.push(json!({ "name": "data", "mountPath": "/data" }));
                volumes.push(
                    json!({ "name": "data", "persistentVolumeClaim": { "claimName": claim } }),
                );
                claims.push(json!({
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": { "name": claim, "labels": labels(system, name, "service", version) },
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": { "requests": { "storage": SQLITE_STORAGE } },
                    },
                }));
                emitted.report.approximated(
                    format!("service {}", service.name),
                    format!("SQLite lives on a {SQLITE_STORAGE} volume claim; the pod is replaced (Recreate), never doubled, since the volume mounts on one node"),
                );
            }
            let checksum = {
                use sha2::{Digest, Sha256};
                let digest = Sha256::digest(serde_json::to_vec(&config).expect("serialises"));
                digest.iter().take(8).fold(String::new(), |mut s, b| {
                    let _ = std::fmt::Write::write_fmt(&mut s, format_args!("{b:02x}"));
                    s
                })
            };
            let container = |container_name: &str, args: &[String], probes: bool| {
                let mut c = json!({
                    "name": container_name,
                    "image": image_ref,
                    "args": args,
                    "envFrom": [{ "configMapRef": { "name": config_name } }],
                    "env": secrets,
                    "securityContext": restricted(image.uid),
                    "volumeMounts": mounts,
                });
                c["resources"] = json!({
                    "requests": {
                        "cpu": millicores(spec.resources.cpu_millicores),
                        "memory": mebibytes(spec.resources.memory_bytes),
                    },
                    "limits": {
                        "cpu": millicores(spec.resources.cpu_limit_millicores),
                        "memory": mebibytes(spec.resources.memory_limit_bytes),
                    },
                });
                if probes {
                    c["ports"] =
                        json!([{ "name": service.port_name, "containerPort": service.port }]);
                    c["livenessProbe"] = json!({
                        "httpGet": { "path": service.liveness_path, "port": service.port_name },
                        "periodSeconds": 10,
                        "failureThreshold": 3,
                    });
                    c["readinessProbe"] = json!({
                        "httpGet": { "path": service.readiness_path, "port": service.port_name },
                        "periodSeconds": 5,
                        "failureThreshold": 2,
                    });
                }
                c
            };
            let mut deployment = json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": { "name": name, "labels": labels(system, name, "service", version) },
                "spec": {
                    "replicas": spec.replicas,
                    "selector": { "matchLabels": selector(system, name) },
                    "template": {
                        "metadata": {
                            "labels": labels(system, name, "service", version),
                            // A changed ConfigMap rolls the pods.
                            "annotations": { "v5c.dev/config-sha256": checksum },
                        },
                        "spec": {
                            "automountServiceAccountToken": false,
                                "securityContext": pod_security(image.uid),
                            "terminationGracePeriodSeconds": service.stop_grace_seconds,
                            "initContainers": [container("migrate", &image.migrate, false)],
                            "containers": [container(name, &image.serve, true)],
                            "volumes": volumes,
                        },
                    },
                },
            });
            if !sqlite.is_empty() {
                deployment["spec"]["strategy"] = json!({ "type": "Recreate" });
            }
            if spec.replicas > 1 {
                // The HorizontalPodAutoscaler owns the count; `kubectl apply` must not reset it.
                deployment["spec"]
                    .as_object_mut()
                    .expect("a spec")
                    .remove("replicas");
            }
            let mut docs = vec![json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": { "name": config_name, "labels": labels(system, name, "service", version) },
                "data": config,
            })];
            docs.extend(claims);
            docs.push(deployment);
            docs.push(service_manifest(
                system,
                version,
                "service",
                (name, name),
                (&service.port_name, service.port),
                Headless::No,
            ));
            docs.push(service_manifest(
                system,
                version,
                "service",
                (&service.pods_host, name),
                (&service.port_name, service.port),
                Headless::PublishingNotReady,
            ));
            if spec.replicas > 1 {
                docs.push(json!({
                    "apiVersion": "policy/v1",
                    "kind": "PodDisruptionBudget",
                    "metadata": { "name": name, "labels": labels(system, name, "service", version) },
                    "spec": {
                        "maxUnavailable": 1,
                        "selector": { "matchLabels": selector(system, name) },
                    },
                }));
                docs.push(json!({
                    "apiVersion": "autoscaling/v2",
                    "kind": "HorizontalPodAutoscaler",
                    "metadata": { "name": name, "labels": labels(system, name, "service", version) },
                    "spec": {
                        "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": name },
                        "minReplicas": spec.replicas,
                        "maxReplicas": spec.replicas * 2,
                        "metrics": [{
                            "type": "Resource",
                            "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": 70 } },
                        }],
                    },
                }));
            }
            files.push((
                format!("k8s/service-{name}.yaml"),
                format!("{}{}", header(system), document(&docs)),
            ));
        }

        for db in ir.databases.values() {
            if db.engine == Engine::Sqlite {
                continue;
            }
            if db.external {
                emitted.report.approximated(
                    format!("database {}", db.name),
                    format!("external: no StatefulSet; `{}` and its password come from the Secret {credentials}", database_env(&db.name, "URL")),
                );
                continue;
            }
            let host = host_name(&db.name);
            let password = database_env(&db.name, "PASSWORD");
            let server = database_server(db.engine, &db.name).expect("not SQLite");
            let (db_image, port, data_path, probe) = (
                server.image,
                server.port,
                server.data_path,
                json!(server.probe),
            );
            let mut env: Vec<Value> = server
                .settings
                .iter()
                .map(|(name, value)| json!({ "name": name, "value": value }))
                .collect();
            // The data below the claim's root, whose `lost+found` would be in the way:
            // PostgreSQL refuses a non-empty directory, MariaDB lists it as a database.
            let sub_path = match db.engine {
                Engine::Postgresql => {
                    env.push(json!({ "name": "PGDATA", "value": format!("{data_path}/pgdata") }));
                    ""
                }
                _ => "mysql",
            };
            env.push(secret_env_as(&credentials, server.password_var, &password));
            emitted.report.approximated(
                format!("database {}", db.name),
                format!("one replica with a {DATABASE_STORAGE} volume claim: the spec does not size storage or ask for a replicated database"),
            );
            let mut docs = vec![
                service_manifest(
                    system,
                    version,
                    "database",
                    (&host, &host),
                    ("sql", port),
                    Headless::Yes,
                ),
                json!({
                    "apiVersion": "apps/v1",
                    "kind": "StatefulSet",
                    "metadata": { "name": host, "labels": labels(system, &host, "database", version) },
                    "spec": {
                        "serviceName": host,
                        "replicas": 1,
                        "selector": { "matchLabels": selector(system, &host) },
                        "template": {
                            "metadata": { "labels": labels(system, &host, "database", version) },
                            "spec": {
                                "automountServiceAccountToken": false,
                                "securityContext": {
                                    "runAsNonRoot": true,
                                    "runAsUser": 999,
                                    "runAsGroup": 999,
                                    "fsGroup": 999,
                                    "seccompProfile": { "type": "RuntimeDefault" },
                                },
                                "containers": [{
                                    "name": host,
                                    "image": db_image,
                                    "ports": [{ "name": "sql", "containerPort": port }],
                                    "env": env,
                                    "readinessProbe": { "exec": { "command": probe }, "periodSeconds": 5 },
                                    "livenessProbe": { "exec": { "command": probe }, "periodSeconds": 20, "failureThreshold": 6 },
                                    "securityContext": {
                                        "allowPrivilegeEscalation": false,
                                        "capabilities": { "drop": ["ALL"] },
                                    },
                                    "resources": resources("250m", "256Mi", "1", "1Gi"),
                                    "volumeMounts": [if sub_path.is_empty() {
                                        json!({ "name": "data", "mountPath": data_path })
                                    } else {
                                        json!({ "name": "data", "mountPath": data_path, "subPath": sub_path })
                                    }],
                                }],
                            },
                        },
                        "volumeClaimTemplates": [{
                            "metadata": { "name": "data" },
                            "spec": {
                                "accessModes": ["ReadWriteOnce"],
                                "resources": { "requests": { "storage": DATABASE_STORAGE } },
                            },
                        }],
                    },
                }),
            ];
            let mut allowed: Vec<String> = users_of(&db.name);
            let exporter = facts.exporters.iter().find(|e| e.database == db.name);
            if let (Some(exporter), Some(_)) = (exporter, facts.monitoring.as_ref()) {
                allowed.push(exporter.host.clone());
                let exporter_image = exporter_image(db.engine, &host, port, &db.name);
                let mut env: Vec<Value> = exporter_image
                    .settings
                    .iter()
                    .map(|(name, value)| json!({ "name": name, "value": value }))
                    .collect();
                env.push(secret_env_as(
                    &credentials,
                    exporter_image.password_var,
                    &password,
                ));
                let args = json!(exporter_image.args);
                let exporter_image = exporter_image.image;
                let name = exporter.host.as_str();
                docs.push(json!({
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": { "name": name, "labels": labels(system, name, "exporter", version) },
                    "spec": {
                        "replicas": 1,
                        "selector": { "matchLabels": selector(system, name) },
                        "template": {
                            "metadata": { "labels": labels(system, name, "exporter", version) },
                            "spec": {
                                "automountServiceAccountToken": false,
                                "securityContext": pod_security(65_534),
                                "containers": [{
                                    "name": name,
                                    "image": exporter_image,
                                    "args": args,
                                    "env": env,
                                    "ports": [{ "name": exporter.port_name, "containerPort": exporter.port }],
                                    // A TCP probe: a scrape of the metrics would query the database.
                                    "readinessProbe": { "tcpSocket": { "port": exporter.port_name } },
                                    "resources": resources("50m", "64Mi", "200m", "128Mi"),
                                    "securityContext": restricted(65_534),
                                }],
                            },
                        },
                    },
                }));
                if let Some(m) = facts.monitoring.as_ref() {
                    // It holds the database's password: only Prometheus may scrape it.
                    docs.push(json!({
                        "apiVersion": "networking.k8s.io/v1",
                        "kind": "NetworkPolicy",
                        "metadata": { "name": format!("{name}-scrapers"), "labels": labels(system, name, "exporter", version) },
                        "spec": {
                            "podSelector": { "matchLabels": selector(system, name) },
                            "policyTypes": ["Ingress"],
                            "ingress": [{
                                "from": [{ "podSelector": { "matchLabels": selector(system, &m.prometheus_host) } }],
                                "ports": [{ "protocol": "TCP", "port": exporter.port }],
                            }],
                        },
                    }));
                }
                docs.push(service_manifest(
                    system,
                    version,
                    "exporter",
                    (name, name),
                    (&exporter.port_name, exporter.port),
                    Headless::No,
                ));
            }
            // Nobody else reaches it; with no client at all, no ingress is allowed.
            let ingress = if allowed.is_empty() {
                json!([])
            } else {
                json!([{
                    "from": [{
                        "podSelector": {
                            "matchLabels": { "app.kubernetes.io/part-of": system },
                            "matchExpressions": [{ "key": "app.kubernetes.io/name", "operator": "In", "values": allowed }],
                        },
                    }],
                    "ports": [{ "protocol": "TCP", "port": port }],
                }])
            };
            docs.push(json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": { "name": format!("{host}-clients"), "labels": labels(system, &host, "database", version) },
                "spec": {
                    "podSelector": { "matchLabels": selector(system, &host) },
                    "policyTypes": ["Ingress"],
                    "ingress": ingress,
                },
            }));
            files.push((
                format!("k8s/database-{host}.yaml"),
                format!("{}{}", header(system), document(&docs)),
            ));
        }

        let mut config_maps = Vec::new();
        if let Some(m) = &facts.monitoring {
            let prometheus = m.prometheus_host.as_str();
            let grafana = m.grafana_host.as_str();
            let docs = vec![
                json!({
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": { "name": prometheus, "labels": labels(system, prometheus, "monitoring", version) },
                    "spec": {
                        "replicas": 1,
                        "strategy": { "type": "Recreate" },
                        "selector": { "matchLabels": selector(system, prometheus) },
                        "template": {
                            "metadata": { "labels": labels(system, prometheus, "monitoring", version) },
                            "spec": {
                                "automountServiceAccountToken": false,
                                "securityContext": pod_security(65_534),
                                "containers": [{
                                    "name": prometheus,
                                    "image": PROMETHEUS_IMAGE,
                                    "args": [
                                        "--config.file=/etc/prometheus/prometheus.yml",
                                        "--storage.tsdb.path=/prometheus",
                                        format!("--storage.tsdb.retention.time={}", super::monitoring::promql::duration(m.retention_ms)),
                                    ],
                                    "ports": [{ "name": "http", "containerPort": m.prometheus_port }],
                                    "readinessProbe": { "httpGet": { "path": "/-/ready", "port": "http" } },
                                    "resources": resources("250m", "512Mi", "1", "2Gi"),
                                    "livenessProbe": { "httpGet": { "path": "/-/healthy", "port": "http" } },
                                    "securityContext": restricted(65_534),
                                    "volumeMounts": [
                                        { "name": "config", "mountPath": "/etc/prometheus" },
                                        { "name": "data", "mountPath": "/prometheus" },
                                    ],
                                }],
                                "volumes": [
                                    { "name": "config", "configMap": { "name": "prometheus-config" } },
                                    { "name": "data", "persistentVolumeClaim": { "claimName": "prometheus-data" } },
                                ],
                            },
                        },
                    },
                }),
                json!({
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": { "name": "prometheus-data", "labels": labels(system, prometheus, "monitoring", version) },
                    "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": DATABASE_STORAGE } } },
                }),
                service_manifest(
                    system,
                    version,
                    "monitoring",
                    (prometheus, prometheus),
                    ("http", m.prometheus_port),
                    Headless::No,
                ),
                json!({
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": { "name": grafana, "labels": labels(system, grafana, "monitoring", version) },
                    "spec": {
                        "replicas": 1,
                        "selector": { "matchLabels": selector(system, grafana) },
                        "template": {
                            "metadata": { "labels": labels(system, grafana, "monitoring", version) },
                            "spec": {
                                "automountServiceAccountToken": false,
                                "securityContext": pod_security(472),
                                "containers": [{
                                    "name": grafana,
                                    "image": GRAFANA_IMAGE,
                                    "env": [secret_env_as(&credentials, "GF_SECURITY_ADMIN_PASSWORD", GRAFANA_PASSWORD_ENV)],
                                    "ports": [{ "name": "http", "containerPort": m.grafana_port }],
                                    "readinessProbe": { "httpGet": { "path": "/api/health", "port": "http" } },
                                    "resources": resources("100m", "256Mi", "500m", "512Mi"),
                                    "securityContext": restricted(472),
                                    "volumeMounts": [
                                        { "name": "datasources", "mountPath": "/etc/grafana/provisioning/datasources" },
                                        { "name": "providers", "mountPath": "/etc/grafana/provisioning/dashboards" },
                                        { "name": "dashboards", "mountPath": GRAFANA_DASHBOARDS_PATH },
                                        { "name": "data", "mountPath": "/var/lib/grafana" },
                                        { "name": "tmp", "mountPath": "/tmp" },
                                    ],
                                }],
                                "volumes": [
                                    { "name": "datasources", "configMap": { "name": "grafana-datasources" } },
                                    { "name": "providers", "configMap": { "name": "grafana-dashboard-providers" } },
                                    { "name": "dashboards", "configMap": { "name": "grafana-dashboards" } },
                                    { "name": "data", "emptyDir": {} },
                                    { "name": "tmp", "emptyDir": {} },
                                ],
                            },
                        },
                    },
                }),
                service_manifest(
                    system,
                    version,
                    "monitoring",
                    (grafana, grafana),
                    ("http", m.grafana_port),
                    Headless::No,
                ),
            ];
            files.push((
                "k8s/monitoring.yaml".to_owned(),
                format!("{}{}", header(system), document(&docs)),
            ));
            config_maps = vec![
                json!({ "name": "prometheus-config", "files": [
                    format!("prometheus.yml={PROMETHEUS_DIR}/prometheus-kubernetes.yml"),
                    format!("rules.yml={PROMETHEUS_DIR}/rules.yml"),
                ]}),
                json!({ "name": "grafana-datasources", "files": [format!("{GRAFANA_PROVISIONING_DIR}/datasources/prometheus.yml")] }),
                json!({ "name": "grafana-dashboard-providers", "files": [format!("{GRAFANA_PROVISIONING_DIR}/dashboards/v5c.yml")] }),
                json!({ "name": "grafana-dashboards", "files": [format!("{GRAFANA_DASHBOARDS_DIR}/{system}.json")] }),
            ];
        }

        emitted.report.approximated(
            "resources",
            "databases, exporters, Prometheus and Grafana get v5c's requests and limits: the spec sizes only the services",
        );
        emitted.report.approximated(
            "image",
            format!("`{image_ref}` names no registry: push the image built from the Dockerfile and set `images[0].newName` in kustomization.yaml to where it is"),
        );
        let resources: Vec<String> = files.iter().map(|(p, _)| p.clone()).collect();
        let mut kustomization = json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": resources,
            "images": [{ "name": image.name, "newTag": image.tag }],
        });
        if !config_maps.is_empty() {
            kustomization["configMapGenerator"] = Value::Array(config_maps);
        }
        files.push((
            "kustomization.yaml".to_owned(),
            format!(
                "{}# Apply with `kubectl apply -k .` after creating the Secret the manifests read:\n#   kubectl create secret generic {credentials} --from-env-file=.env\n# (.env as for compose; see .env.example). Written for Kubernetes {KUBERNETES_VERSION}.\n{}",
                header(system),
                serde_yaml::to_string(&kustomization).expect("serialises")
            ),
        ));

        emitted.with_files(files)
    }
}

/// An environment variable `name` set from key `key` of the Secret.
fn secret_env_as(credentials: &str, name: &str, key: &str) -> Value {
    json!({
        "name": name,
        "valueFrom": { "secretKeyRef": { "name": credentials, "key": key } },
    })
}
