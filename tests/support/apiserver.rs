//! An in-test Kubernetes API server speaking the real wire protocol for what ferry uses:
//! discovery (`/api`, `/api/v1`, `/apis`, `/apis/G/V`), server-side apply PATCH
//! (`application/apply-patch+yaml`, fieldManager required, create 201 / update 200,
//! conflicts 409 unless force, `dryRun=All`), GET, CRD registration with Established and
//! NamesAccepted conditions, Deployment status, and Status bodies for errors.
//! YAML is decoded with YAML 1.1 scalars, as the API server's sigs.k8s.io/yaml does
//! (`0644` is the number 420, `yes` is true).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

#[derive(Clone)]
struct Kind {
    group: String,
    version: String,
    kind: String,
    plural: String,
    namespaced: bool,
}

#[derive(Default)]
pub struct State {
    kinds: Vec<Kind>,
    /// Stored objects by URL path, with the manager that last applied them.
    objects: BTreeMap<String, (Value, String)>,
    resource_version: u64,
    /// Every request as `METHOD path?query`.
    pub log: Vec<String>,
    /// Whether Deployments report ready replicas.
    pub workloads_become_ready: bool,
    /// GETs of a CRD before it reports Established.
    pub crd_establish_after_gets: usize,
    /// Resources (plurals) the caller may not write: PATCH answers 403.
    pub forbidden: Vec<String>,
    crd_gets: BTreeMap<String, usize>,
}

pub struct ApiServer {
    pub url: String,
    pub state: Arc<Mutex<State>>,
}

fn k(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Kind {
    Kind {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        namespaced,
    }
}

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

/// YAML 1.1 scalar typing for plain scalars, as the API server decodes YAML.
fn scalar(s: &ferry::yaml::Scalar) -> Value {
    use granit_parser::ScalarStyle;
    let t = s.text.as_ref();
    if s.style != ScalarStyle::Plain || s.tagged {
        return Value::String(t.to_string());
    }
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        _ => {}
    }
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    let neg = t.starts_with('-');
    let int = if digits.len() > 1
        && digits.starts_with('0')
        && digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        i64::from_str_radix(digits, 8).ok()
    } else if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return json!(if neg { -i } else { i });
    }
    if let Ok(f) = t.parse::<f64>()
        && t.contains(['.', 'e', 'E'])
    {
        return json!(f);
    }
    Value::String(t.to_string())
}

fn to_json(n: &ferry::yaml::Node) -> Value {
    use ferry::yaml::Node;
    match n {
        Node::Scalar(s) => scalar(s),
        Node::Seq(items, _) => Value::Array(items.iter().map(to_json).collect()),
        Node::Map(entries, _) => Value::Object(
            entries
                .iter()
                .filter_map(|(k, v)| Some((k.as_ref()?.text.to_string(), to_json(v))))
                .collect(),
        ),
        Node::Alias(_) => Value::Null,
    }
}

/// Deep merge of an applied config over the stored object.
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Leaf paths where `applied` would change `current`.
fn conflicts(current: &Value, applied: &Value, path: &str, out: &mut Vec<String>) {
    match (current, applied) {
        (Value::Object(c), Value::Object(a)) => {
            for (k, v) in a {
                if k == "metadata" || k == "status" {
                    continue;
                }
                if let Some(cv) = c.get(k) {
                    conflicts(cv, v, &format!("{path}.{k}"), out);
                }
            }
        }
        (c, a) if c != a => out.push(path.to_string()),
        _ => {}
    }
}

impl State {
    fn new() -> State {
        State {
            kinds: vec![
                k("", "v1", "Namespace", "namespaces", false),
                k("", "v1", "ConfigMap", "configmaps", true),
                k("", "v1", "Secret", "secrets", true),
                k("", "v1", "ServiceAccount", "serviceaccounts", true),
                k("", "v1", "Service", "services", true),
                k("", "v1", "Pod", "pods", true),
                k("apps", "v1", "Deployment", "deployments", true),
                k("apps", "v1", "StatefulSet", "statefulsets", true),
                k("apps", "v1", "DaemonSet", "daemonsets", true),
                k("batch", "v1", "Job", "jobs", true),
                k(
                    "rbac.authorization.k8s.io",
                    "v1",
                    "ClusterRole",
                    "clusterroles",
                    false,
                ),
                k(
                    "rbac.authorization.k8s.io",
                    "v1",
                    "ClusterRoleBinding",
                    "clusterrolebindings",
                    false,
                ),
                k("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
                k(
                    "rbac.authorization.k8s.io",
                    "v1",
                    "RoleBinding",
                    "rolebindings",
                    true,
                ),
                k(
                    "apiextensions.k8s.io",
                    "v1",
                    "CustomResourceDefinition",
                    "customresourcedefinitions",
                    false,
                ),
            ],
            workloads_become_ready: true,
            // Every cluster starts with these.
            objects: ["default", "kube-system"]
                .iter()
                .map(|ns| {
                    (
                        format!("/api/v1/namespaces/{ns}"),
                        (json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "resourceVersion": "1"}}), "kube-apiserver".to_string()),
                    )
                })
                .collect(),
            resource_version: 1,
            ..Default::default()
        }
    }

    fn group_versions(&self) -> Vec<(String, String)> {
        let mut gv: Vec<(String, String)> = self
            .kinds
            .iter()
            .filter(|k| !k.group.is_empty())
            .map(|k| (k.group.clone(), k.version.clone()))
            .collect();
        gv.sort();
        gv.dedup();
        gv
    }

    fn resource_list(&self, group: &str, version: &str) -> Option<Value> {
        let rs: Vec<Value> = self
            .kinds
            .iter()
            .filter(|k| k.group == group && k.version == version)
            .map(|k| {
                json!({"name": k.plural, "singularName": k.kind.to_lowercase(), "namespaced": k.namespaced,
                       "kind": k.kind, "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]})
            })
            .collect();
        if rs.is_empty() {
            return None;
        }
        let gv = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        Some(
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": rs}),
        )
    }

    fn handle(
        &mut self,
        method: &str,
        target: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> (u16, Value) {
        self.log.push(format!("{method} {target}"));
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let params: BTreeMap<&str, &str> =
            query.split('&').filter_map(|p| p.split_once('=')).collect();
        match (method, path) {
            ("GET", "/api") => {
                return (
                    200,
                    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
                );
            }
            ("GET", "/apis") => {
                let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
                for (g, v) in self.group_versions() {
                    groups
                        .entry(g.clone())
                        .or_default()
                        .push(json!({"groupVersion": format!("{g}/{v}"), "version": v}));
                }
                let groups: Vec<Value> = groups
                    .into_iter()
                    .map(|(name, versions)| json!({"name": name, "versions": versions, "preferredVersion": versions[0]}))
                    .collect();
                return (
                    200,
                    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
                );
            }
            _ => {}
        }
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (group, version, rest) = match segs.as_slice() {
            ["api", v, rest @ ..] => ("", *v, rest),
            ["apis", g, v, rest @ ..] => (*g, *v, rest),
            _ => {
                return status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                );
            }
        };
        if rest.is_empty() && method == "GET" {
            return match self.resource_list(group, version) {
                Some(l) => (200, l),
                None => status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            };
        }
        let (ns, plural, name) = match rest {
            ["namespaces", ns, plural, name] => (Some(*ns), *plural, *name),
            [plural, name] => (None, *plural, *name),
            _ => {
                return status(
                    405,
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                );
            }
        };
        let Some(kind) = self
            .kinds
            .iter()
            .find(|k| k.group == group && k.version == version && k.plural == plural)
            .cloned()
        else {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        };
        let key = path.to_string();
        match method {
            "GET" => {
                let established_after = self.crd_establish_after_gets;
                match self.objects.get_mut(&key) {
                    Some((obj, _)) => {
                        if kind.kind == "CustomResourceDefinition" {
                            let n = self.crd_gets.entry(key.clone()).or_default();
                            *n += 1;
                            if *n > established_after {
                                obj["status"] = json!({"conditions": [
                                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found"},
                                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}]});
                            }
                        }
                        (200, obj.clone())
                    }
                    None => status(
                        404,
                        "NotFound",
                        &format!("{plural}.{group} \"{name}\" not found").replace(". \"", " \""),
                    ),
                }
            }
            "PATCH" => self.apply(&kind, key, ns, name, &params, content_type, body),
            _ => status(405, "MethodNotAllowed", "not supported by the test server"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        kind: &Kind,
        key: String,
        ns: Option<&str>,
        name: &str,
        params: &BTreeMap<&str, &str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> (u16, Value) {
        if content_type != Some("application/apply-patch+yaml") {
            return status(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format",
            );
        }
        let Some(manager) = params.get("fieldManager").copied() else {
            return status(
                422,
                "Invalid",
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            );
        };
        let text = String::from_utf8_lossy(body);
        let docs = match ferry::yaml::parse_documents(&text) {
            Ok(d) if d.len() == 1 => d,
            _ => {
                return status(
                    400,
                    "BadRequest",
                    "error decoding YAML: exactly one document expected",
                );
            }
        };
        let applied = to_json(&docs[0].root);
        let gv = if kind.group.is_empty() {
            kind.version.clone()
        } else {
            format!("{}/{}", kind.group, kind.version)
        };
        if applied["apiVersion"] != gv.as_str()
            || applied["kind"] != kind.kind.as_str()
            || applied["metadata"]["name"] != name
        {
            return status(
                400,
                "BadRequest",
                "the name, kind or apiVersion of the object does not match the request",
            );
        }
        if let (Some(ns), Some(body_ns)) = (ns, applied["metadata"]["namespace"].as_str())
            && ns != body_ns
        {
            return status(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            );
        }
        if let Some(ns) = ns
            && !self
                .objects
                .contains_key(&format!("/api/v1/namespaces/{ns}"))
        {
            return status(404, "NotFound", &format!("namespaces \"{ns}\" not found"));
        }
        if self.forbidden.contains(&kind.plural) {
            let msg = format!(
                "{}{} \"{name}\" is forbidden: User \"test\" cannot patch resource \"{}\" in API group \"{}\"{}",
                kind.plural,
                if kind.group.is_empty() {
                    String::new()
                } else {
                    format!(".{}", kind.group)
                },
                kind.plural,
                kind.group,
                ns.map(|n| format!(" in the namespace \"{n}\""))
                    .unwrap_or_default()
            );
            return status(403, "Forbidden", &msg);
        }
        // Schema validation of one field, as the real server does for every typed field.
        if kind.kind == "Deployment"
            && !applied["spec"]["replicas"].is_null()
            && !applied["spec"]["replicas"].is_i64()
        {
            return status(
                422,
                "Invalid",
                &format!(
                    "Deployment.apps \"{name}\" is invalid: spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer"
                ),
            );
        }
        let dry = params.get("dryRun") == Some(&"All");
        let force = params.get("force") == Some(&"true");
        let existing = self.objects.get(&key).cloned();
        let (code, mut obj) = match &existing {
            None => {
                let mut o = applied.clone();
                o["metadata"]["uid"] = json!(format!("uid-{}", self.objects.len() + 1));
                o["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
                o["metadata"]["generation"] = json!(1);
                if let Some(ns) = ns {
                    o["metadata"]["namespace"] = json!(ns);
                }
                (201, o)
            }
            Some((current, owner)) => {
                if owner != manager && !force {
                    let mut c = Vec::new();
                    conflicts(current, &applied, "", &mut c);
                    if !c.is_empty() {
                        let msg = format!(
                            "Apply failed with {} conflict: conflict with \"{owner}\": {}",
                            c.len(),
                            c.join(", ")
                        );
                        return status(409, "Conflict", &msg);
                    }
                }
                let mut o = current.clone();
                merge(&mut o, &applied);
                (200, o)
            }
        };
        let changed = existing.as_ref().is_none_or(|(current, _)| {
            let strip = |v: &Value| {
                let mut v = v.clone();
                v["metadata"]["resourceVersion"] = Value::Null;
                v["status"] = Value::Null;
                v
            };
            strip(current) != strip(&obj)
        });
        if changed {
            self.resource_version += 1;
            obj["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
            if existing.is_some()
                && existing.as_ref().map(|(c, _)| &c["spec"]) != Some(&obj["spec"])
            {
                let g = obj["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
                obj["metadata"]["generation"] = json!(g);
            }
        }
        obj["metadata"]["managedFields"] =
            json!([{"manager": manager, "operation": "Apply", "apiVersion": obj["apiVersion"]}]);
        if kind.kind == "Deployment" {
            let replicas = obj["spec"]["replicas"].as_u64().unwrap_or(1);
            let generation = obj["metadata"]["generation"].clone();
            obj["status"] = if self.workloads_become_ready {
                json!({"observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas, "updatedReplicas": replicas,
                       "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."}]})
            } else {
                json!({"observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas, "readyReplicas": 0,
                       "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability."}]})
            };
        }
        if dry {
            return (code, obj);
        }
        if kind.kind == "CustomResourceDefinition" && existing.is_none() {
            let spec = &obj["spec"];
            for v in spec["versions"].as_array().into_iter().flatten() {
                self.kinds.push(Kind {
                    group: spec["group"].as_str().unwrap_or_default().to_string(),
                    version: v["name"].as_str().unwrap_or_default().to_string(),
                    kind: spec["names"]["kind"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    plural: spec["names"]["plural"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    namespaced: spec["scope"] == "Namespaced",
                });
            }
        }
        // After a successful apply (no conflict, or forced), the applier owns the fields.
        self.objects.insert(key, (obj.clone(), manager.to_string()));
        (code, obj)
    }

    /// Stores an object as if another field manager had applied it.
    pub fn seed(&mut self, path: &str, obj: Value, manager: &str) {
        self.objects
            .insert(path.to_string(), (obj, manager.to_string()));
    }

    pub fn get(&self, path: &str) -> Option<Value> {
        self.objects.get(path).map(|(o, _)| o.clone())
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) -> Option<()> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let mut parts = first.split_whitespace();
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut length = 0;
    let mut content_type = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = v.trim().parse().unwrap_or(0),
                "content-type" => content_type = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let (code, value) =
        state
            .lock()
            .unwrap()
            .handle(&method, &target, content_type.as_deref(), &body);
    let text = value.to_string();
    let reason = match code {
        200 => "OK",
        201 => "Created",
        403 => "Forbidden",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        409 => "Conflict",
        _ => "Error",
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
    .ok()
}

impl ApiServer {
    pub fn start() -> ApiServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::new()));
        let s = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let s = s.clone();
                std::thread::spawn(move || serve(conn, &s));
            }
        });
        ApiServer { url, state }
    }

    /// A kubeconfig for this server, written into `dir`.
    pub fn kubeconfig(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let p = dir.join("kubeconfig");
        std::fs::write(
            &p,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\nusers:\n- name: test\n  user:\n    token: test-token\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: default\ncurrent-context: test\n",
                self.url
            ),
        )
        .unwrap();
        p
    }
}
