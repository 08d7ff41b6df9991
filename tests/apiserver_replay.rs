//! Keeps the fake API server honest: every exchange recorded from a real kube-apiserver
//! v1.36 (`../shared/apiserver-transcripts/*.json` and `day2/*.json`) is replayed against it,
//! request by request, and its answers are compared with the recorded ones, but for the few
//! exchanges `NOT_MODELLED` lists with why. Placeholders a request carries (`UID2`, `RV3`,
//! `CONTINUE1`) are sent as the fake's values they were matched with; protobuf bodies (Helm's
//! release Secrets) as the JSON the transcript decoded them to; an exchange recorded without
//! an answer (a restarting server) must get none.
//!
//! What is compared, exactly: the status code; the Content-Type; `Warning` headers; text
//! bodies; Status bodies whole (message, reason, details, causes); for objects the kind, name,
//! namespace, labels, annotations and generation, whether resourceVersion and uid are
//! present and which earlier ones they equal (placeholders mapped one to one), every
//! managedFields entry of a client (manager, operation, apiVersion, fieldsV1) and of the
//! server's own managers (manager, operation, subresource), `data`, the applied fields as the
//! server stored them, and the status conditions (type, status, reason; messages where they
//! do not carry a generated ReplicaSet hash) and status counters; discovery documents by
//! their groups, versions, freshness and resources. Not compared: timestamps, server-side
//! defaults beyond those, and the pod-template hash.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::apiserver::ApiServer;
use support::try_http;

/// Every transcript: the top level and `day2/` (not `day2/decoded/`, which holds decoded
/// Helm records, not exchanges).
fn transcripts() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/apiserver-transcripts");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("day2")] {
        files.extend(
            std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "json")),
        );
    }
    files.sort();
    files
}

/// Placeholders (`RV3`, `UID2`) and the fake's values, one to one.
#[derive(Default)]
struct Bijection {
    there: BTreeMap<String, String>,
    back: BTreeMap<String, String>,
}

impl Bijection {
    fn check(&mut self, what: &str, recorded: &str, fake: &str) -> Result<(), String> {
        match (self.there.get(recorded), self.back.get(fake)) {
            (None, None) => {
                self.there.insert(recorded.into(), fake.into());
                self.back.insert(fake.into(), recorded.into());
                Ok(())
            }
            (Some(f), _) if f == fake => Ok(()),
            (a, b) => Err(format!(
                "{what}: recorded {recorded} (seen as {a:?}), fake {fake} (seen as {b:?})"
            )),
        }
    }
}

struct Replay {
    rv: Bijection,
    uid: Bijection,
    /// List continue tokens (`CONTINUE1`) and the fake's.
    tokens: Bijection,
    problems: Vec<String>,
}

/// `text` with each placeholder the transcript wrote in a request (`UID2`, `RV3`,
/// `CONTINUE1`) replaced by the fake's value it was matched with; one never matched (a uid
/// made up for a precondition that must fail) is sent as it is.
fn to_fake(text: &str, maps: [&Bijection; 3]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = ["UID", "RV", "CONTINUE"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        out.push_str(&rest[..at]);
        let token_len = rest[at..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len() - at);
        let token = &rest[at..at + token_len];
        let fake = maps.iter().find_map(|m| m.there.get(token));
        out.push_str(fake.map_or(token, String::as_str));
        rest = &rest[at + token_len..];
    }
    out.push_str(rest);
    out
}

fn leaves(v: &Value, path: String, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                leaves(x, format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_object) => {
            for (i, x) in a.iter().enumerate() {
                leaves(x, format!("{path}[{i}]"), out);
            }
        }
        other => {
            out.insert(path, other.clone());
        }
    }
}

/// `fake` with each PEM certificate replaced by the placeholder `recorded` has in the same
/// place (`CERT1`): the transcripts replace certificates, the fake makes its own.
fn certs(fake: &Value, recorded: &Value) -> Value {
    match (fake, recorded) {
        (Value::String(f), Value::String(r)) if f.contains("-----BEGIN CERTIFICATE-----") => {
            let end = "-----END CERTIFICATE-----";
            match (f.find("-----BEGIN"), f.find(end), r.find("CERT")) {
                (Some(a), Some(b), Some(c)) => {
                    let placeholder: String = r[c..]
                        .chars()
                        .take_while(char::is_ascii_alphanumeric)
                        .collect();
                    Value::String(format!("{}{placeholder}{}", &f[..a], &f[b + end.len()..]))
                }
                _ => fake.clone(),
            }
        }
        (Value::Object(f), Value::Object(r)) => Value::Object(
            f.iter()
                .map(|(k, v)| (k.clone(), certs(v, r.get(k).unwrap_or(&Value::Null))))
                .collect(),
        ),
        _ => fake.clone(),
    }
}

fn is_server_manager(m: &str) -> bool {
    m.starts_with("kube-") || m == "ferry-transcript"
}

impl Replay {
    /// A step listed as not modelled: its differences dropped, or, when it has none, a
    /// problem saying so (the list is out of date).
    fn settle_step(&mut self, scenario: &str, step: u64, before: usize) {
        if !not_modelled(scenario, step) {
            return;
        }
        if self.problems.len() == before {
            self.fail(
                &format!("{scenario} step {step}"),
                "listed in NOT_MODELLED but the fake reproduces it: take it off the list".into(),
            );
        } else {
            self.problems.truncate(before);
        }
    }

    fn fail(&mut self, step: &str, message: String) {
        self.problems.push(format!("{step}: {message}"));
    }

    fn same(&mut self, step: &str, what: &str, recorded: &Value, fake: &Value) {
        if recorded != fake {
            self.fail(step, format!("{what}: recorded {recorded}, fake {fake}"));
        }
    }

    /// The fake's uids replaced by the placeholders they were matched with (labels and
    /// selectors that carry an object's uid).
    fn placeholders(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => self
                .uid
                .back
                .get(s)
                .map_or_else(|| v.clone(), |p| Value::String(p.clone())),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.placeholders(x)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), self.placeholders(x)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// A LIST: its kind, resourceVersion, continue token (or none) and remaining count, and
    /// each item as an object, in order.
    fn list(&mut self, step: &str, recorded: &Value, fake: &Value) {
        self.same(step, "kind", &recorded["kind"], &fake["kind"]);
        let (rm, fm) = (&recorded["metadata"], &fake["metadata"]);
        if let (Some(r), Some(f)) = (
            rm["resourceVersion"].as_str(),
            fm["resourceVersion"].as_str(),
        ) && let Err(e) = self.rv.check("list resourceVersion", r, f)
        {
            self.fail(step, e);
        }
        match (rm["continue"].as_str(), fm["continue"].as_str()) {
            (None, None) => {}
            (Some(r), Some(f)) => {
                if let Err(e) = self.tokens.check("continue", r, f) {
                    self.fail(step, e);
                }
            }
            (r, f) => self.fail(
                step,
                format!("metadata.continue: recorded {r:?}, fake {f:?}"),
            ),
        }
        self.same(
            step,
            "metadata.remainingItemCount",
            &rm["remainingItemCount"],
            &fm["remainingItemCount"],
        );
        let (ri, fi) = (
            recorded["items"].as_array().cloned().unwrap_or_default(),
            fake["items"].as_array().cloned().unwrap_or_default(),
        );
        let names = |v: &[Value]| -> Vec<String> {
            v.iter()
                .map(|i| {
                    format!(
                        "{}/{}",
                        i["metadata"]["namespace"].as_str().unwrap_or(""),
                        i["metadata"]["name"].as_str().unwrap_or("")
                    )
                })
                .collect()
        };
        if names(&ri) != names(&fi) {
            self.fail(
                step,
                format!("items: recorded {:?}, fake {:?}", names(&ri), names(&fi)),
            );
            return;
        }
        for (i, (r, f)) in ri.iter().zip(&fi).enumerate() {
            self.object(&format!("{step} items[{i}]"), r, f, None);
        }
    }

    fn object(&mut self, step: &str, recorded: &Value, fake: &Value, applied: Option<&Value>) {
        if let (Some(r), Some(f)) = (
            recorded["metadata"]["uid"].as_str(),
            fake["metadata"]["uid"].as_str(),
        ) && let Err(e) = self.uid.check("uid", r, f)
        {
            self.fail(step, e);
        }
        let fake = &self.placeholders(fake);
        for k in ["kind", "apiVersion"] {
            self.same(step, k, &recorded[k], &fake[k]);
        }
        let (rm, fm) = (&recorded["metadata"], &fake["metadata"]);
        for k in ["name", "namespace", "labels", "annotations", "generation"] {
            self.same(step, &format!("metadata.{k}"), &rm[k], &fm[k]);
        }
        match (
            rm["resourceVersion"].as_str(),
            fm["resourceVersion"].as_str(),
        ) {
            (None, None) => {}
            (Some(r), Some(f)) => {
                if let Err(e) = self.rv.check("resourceVersion", r, f) {
                    self.fail(step, e);
                }
            }
            (r, f) => self.fail(
                step,
                format!("metadata.resourceVersion: recorded {r:?}, fake {f:?}"),
            ),
        }
        if rm["uid"].is_string() != fm["uid"].is_string() {
            self.fail(step, "metadata.uid: present on one side only".into());
        }
        let entries = |m: &Value| -> Vec<Value> {
            m["managedFields"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    let manager = e["manager"].as_str().unwrap_or_default();
                    if is_server_manager(manager) {
                        json!([manager, e["operation"], e["subresource"]])
                    } else {
                        json!([
                            manager,
                            e["operation"],
                            e["apiVersion"],
                            e["fieldsV1"],
                            e["subresource"]
                        ])
                    }
                })
                .collect()
        };
        let (re, fe) = (entries(rm), entries(fm));
        let client = |v: &Vec<Value>| -> Vec<Value> {
            v.iter()
                .filter(|e| !is_server_manager(e[0].as_str().unwrap_or_default()))
                .cloned()
                .collect()
        };
        self.same(
            step,
            "managedFields (clients)",
            &Value::Array(client(&re)),
            &Value::Array(client(&fe)),
        );
        let servers = |v: &Vec<Value>| -> BTreeSet<String> {
            v.iter()
                .filter(|e| is_server_manager(e[0].as_str().unwrap_or_default()))
                .map(ToString::to_string)
                .collect()
        };
        if servers(&re) != servers(&fe) {
            self.fail(
                step,
                format!(
                    "managedFields (server): recorded {:?}, fake {:?}",
                    servers(&re),
                    servers(&fe)
                ),
            );
        }
        self.same(
            step,
            "data",
            &recorded["data"],
            &certs(&fake["data"], &recorded["data"]),
        );
        // Every field the fake returns outside metadata and status holds the recorded value;
        // every field the request applied is there.
        let mut rl = BTreeMap::new();
        let mut fl = BTreeMap::new();
        for (k, v) in recorded.as_object().into_iter().flatten() {
            if !["metadata", "status", "kind", "apiVersion", "data"].contains(&k.as_str()) {
                leaves(v, k.clone(), &mut rl);
            }
        }
        for (k, v) in fake.as_object().into_iter().flatten() {
            if !["metadata", "status", "kind", "apiVersion", "data"].contains(&k.as_str()) {
                leaves(v, k.clone(), &mut fl);
            }
        }
        for (path, value) in &fl {
            if rl.get(path) != Some(value) {
                self.fail(
                    step,
                    format!("{path}: fake {value}, recorded {:?}", rl.get(path)),
                );
            }
        }
        if let Some(applied) = applied {
            let mut al = BTreeMap::new();
            for (k, v) in applied.as_object().into_iter().flatten() {
                if !["metadata", "status", "kind", "apiVersion", "data"].contains(&k.as_str()) {
                    leaves(v, k.clone(), &mut al);
                }
            }
            for path in al.keys() {
                if rl.contains_key(path) && !fl.contains_key(path) {
                    self.fail(
                        step,
                        format!("{path}: applied and recorded, missing in the fake"),
                    );
                }
            }
        }
        self.status(step, &recorded["status"], &fake["status"]);
    }

    fn status(&mut self, step: &str, recorded: &Value, fake: &Value) {
        let conditions = |s: &Value| -> Value {
            match &s["conditions"] {
                Value::Array(cs) => Value::Array(
                    cs.iter()
                        .map(|c| {
                            let message = c["message"].as_str().unwrap_or_default();
                            let shown = if message.contains("ReplicaSet \"") {
                                Value::Null
                            } else {
                                c["message"].clone()
                            };
                            json!([c["type"], c["status"], c["reason"], shown])
                        })
                        .collect(),
                ),
                other => other.clone(),
            }
        };
        self.same(
            step,
            "status.conditions",
            &conditions(recorded),
            &conditions(fake),
        );
        let scalars = |s: &Value| -> BTreeMap<String, Value> {
            s.as_object()
                .into_iter()
                .flatten()
                .filter(|(k, v)| {
                    k.as_str() != "conditions" && !k.ends_with("Time") && !v.is_array()
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let (r, f) = (scalars(recorded), scalars(fake));
        if r != f {
            self.fail(step, format!("status: recorded {r:?}, fake {f:?}"));
        }
        let has_time = |s: &Value| s["startTime"].is_string();
        if has_time(recorded) != has_time(fake) {
            self.fail(step, "status.startTime presence differs".into());
        }
    }

    fn discovery(&mut self, step: &str, recorded: &Value, fake: &Value) {
        match recorded["kind"].as_str() {
            Some("APIResourceList") => {
                let set = |v: &Value| -> BTreeSet<String> {
                    v["resources"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| {
                            let mut verbs: Vec<&str> = r["verbs"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .collect();
                            verbs.sort();
                            format!("{} {} {} {verbs:?}", r["name"], r["kind"], r["namespaced"])
                        })
                        .collect()
                };
                self.same(
                    step,
                    "groupVersion",
                    &recorded["groupVersion"],
                    &fake["groupVersion"],
                );
                if set(recorded) != set(fake) {
                    self.fail(
                        step,
                        format!(
                            "resources: recorded {:?}, fake {:?}",
                            set(recorded),
                            set(fake)
                        ),
                    );
                }
            }
            Some("APIGroupList") => {
                let groups = |v: &Value| -> BTreeSet<String> {
                    v["groups"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|g| format!("{} {}", g["name"], g["versions"]))
                        .collect()
                };
                if groups(recorded) != groups(fake) {
                    self.fail(
                        step,
                        format!(
                            "groups: recorded {:?}, fake {:?}",
                            groups(recorded),
                            groups(fake)
                        ),
                    );
                }
            }
            Some("APIGroupDiscoveryList") => {
                let items = |v: &Value| -> BTreeSet<String> {
                    v["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .flat_map(|g| {
                            g["versions"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(move |ver| {
                                    let mut rs: Vec<String> = ver["resources"]
                                        .as_array()
                                        .into_iter()
                                        .flatten()
                                        .map(|r| {
                                            format!(
                                                "{}:{}:{}",
                                                r["resource"],
                                                r["scope"],
                                                r["responseKind"]["kind"]
                                            )
                                        })
                                        .collect();
                                    rs.sort();
                                    format!(
                                        "{} {} {} {rs:?}",
                                        g["metadata"]["name"], ver["version"], ver["freshness"]
                                    )
                                })
                        })
                        .collect()
                };
                if items(recorded) != items(fake) {
                    let (r, f) = (items(recorded), items(fake));
                    self.fail(
                        step,
                        format!(
                            "aggregated discovery: only recorded {:?}, only fake {:?}",
                            r.difference(&f).collect::<Vec<_>>(),
                            f.difference(&r).collect::<Vec<_>>()
                        ),
                    );
                }
            }
            _ => self.same(step, "discovery", recorded, fake),
        }
    }

    fn body(&mut self, step: &str, recorded: &Value, fake: &Value, applied: Option<&Value>) {
        match recorded["kind"].as_str() {
            Some("Status") => {
                let mut r = recorded.clone();
                let mut f = fake.clone();
                // The fake's uids and resourceVersions in a message, as their placeholders.
                if let Some(m) = fake["message"].as_str() {
                    let mut m = m.to_string();
                    for map in [&self.uid.back, &self.rv.back] {
                        for (value, placeholder) in map {
                            if value.len() > 3 || m.contains(&format!("({value})")) {
                                m = m.replace(&format!("({value})"), &format!("({placeholder})"));
                            }
                        }
                    }
                    f["message"] = json!(m);
                }
                for v in [&mut r, &mut f] {
                    if v["details"]["uid"].is_string() {
                        v["details"]["uid"] = json!("<uid>");
                    }
                }
                if let (Some(ru), Some(fu)) = (
                    recorded["details"]["uid"].as_str(),
                    fake["details"]["uid"].as_str(),
                ) && let Err(e) = self.uid.check("details.uid", ru, fu)
                {
                    self.fail(step, e);
                }
                self.same(step, "Status", &r, &f);
            }
            Some("APIVersions") => {
                self.same(step, "versions", &recorded["versions"], &fake["versions"])
            }
            Some("APIResourceList" | "APIGroupList" | "APIGroupDiscoveryList" | "APIGroup") => {
                self.discovery(step, recorded, fake)
            }
            Some("SelfSubjectAccessReview") => {
                self.same(step, "status", &recorded["status"], &fake["status"])
            }
            None if recorded["gitVersion"].is_string() => {
                for k in ["major", "minor", "gitVersion", "platform"] {
                    self.same(step, k, &recorded[k], &fake[k]);
                }
            }
            Some(kind) if kind.ends_with("List") && recorded["items"].is_array() => {
                self.list(step, recorded, fake)
            }
            _ => self.object(step, recorded, fake, applied),
        }
    }
}

/// Exchanges the fake does not reproduce, each with why: they are still sent (so the state
/// moves on as it did), but not compared. A listed step that does match is an error, so the
/// list only shrinks. Everything else of every file is compared.
const NOT_MODELLED: &[(&str, &[u64], &str)] = &[
    (
        "access-review",
        &[2],
        "SelfSubjectReview of an x509 client: its credential-id fingerprint (the fake authenticates by token)",
    ),
    (
        "applyset-kubectl",
        &[1, 2],
        "aggregated discovery bodies the transcript trimmed to a few resources",
    ),
    (
        "applyset-kubectl",
        &[3, 4, 5, 6, 13],
        "OpenAPI v3 documents (kubectl's schema; ferry does not read them)",
    ),
    (
        "applyset-kubectl",
        &[16, 17, 18, 19],
        "a Deployment's rollout as the deployment controller writes it (ReplicaSets, revision numbers)",
    ),
    (
        "delete-and-prune",
        &[25, 26, 30],
        "ReplicaSets and pods of a Deployment and their garbage collection",
    ),
    (
        "helm-release-record",
        &[4, 5, 16, 17],
        "aggregated discovery bodies the transcript trimmed to a few resources",
    ),
    (
        "helm-release-record",
        &[6, 7, 12, 13, 26],
        "OpenAPI v3 documents (Helm's schema; ferry does not read them)",
    ),
    (
        "helm-release-record",
        &[24, 25, 27],
        "304 answers to conditional requests (If-None-Match, If-Modified-Since)",
    ),
    (
        "pods-of-a-deployment",
        &[4, 5, 6, 7, 9],
        "pods, ReplicaSets and events (the fake runs no ReplicaSet controller)",
    ),
    (
        "pods-of-a-deployment",
        &[11, 12, 13, 14, 15],
        "a rolling update as the deployment controller runs it",
    ),
];

fn not_modelled(scenario: &str, step: u64) -> bool {
    NOT_MODELLED
        .iter()
        .any(|(s, steps, _)| *s == scenario && steps.contains(&step))
}

/// What each scenario's cluster held before its first recorded step (not recorded: the
/// transcripts' README and descriptions say what it was), and at which steps more was set up.
/// Set-up done before a given step: (step, what to do to the server).
type Later = BTreeMap<u64, Box<dyn Fn(&ApiServer)>>;

fn setup(name: &str, server: &ApiServer) -> Later {
    let ns = |n: &str| {
        server.seed(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}),
            "ferry-setup",
        )
    };
    let mut later = Later::new();
    match name {
        "atomic-list" => ns("rec-atomic"),
        "crd-lifecycle" => ns("rec-crd"),
        "discovery-broken-aggregate" => ns("rec-agg"),
        "invalid-and-forbidden" => {
            ns("rec-invalid");
            server.seed(
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "rec-readable", "namespace": "rec-invalid"}, "data": {"k": "v"}}),
                "ferry-setup",
            );
            later.insert(
                23,
                Box::new(|s: &ApiServer| {
                    s.grant("rec-invalid", &["configmaps"], &["get", "list", "watch"])
                }),
            );
        }
        "namespace-apply-twice" => {}
        "ssa-conflict" => ns("rec-conflict"),
        "ssa-create-noop-change" => ns("rec-ssa"),
        "ssa-dry-run" => ns("rec-dryrun"),
        "waits" => {
            ns("rec-wait");
            server.seed(
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                       "metadata": {"name": "recwidgets.rec.example.com"},
                       "spec": {"group": "rec.example.com", "scope": "Namespaced",
                                "names": {"plural": "recwidgets", "singular": "recwidget", "kind": "RecWidget", "listKind": "RecWidgetList"},
                                "versions": [{"name": "v1", "served": true, "storage": true,
                                              "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}),
                "ferry-setup",
            );
        }
        "delete-and-prune" => {
            ns("rec-delete");
            ns("rec-delete-b");
        }
        "applyset-kubectl" => ns("rec-applyset"),
        "helm-release-record" => ns("rec-helm"),
        // Created without a field manager: the recorded Namespace has no managedFields.
        "access-review" => server.seed(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rec-team"}}),
            "",
        ),
        "apiserver-restart" => {
            // Stopped at 2.3 s (the next request at 2.5 s got no answer), answering again
            // at 35.3 s (its notes).
            server.control("/fake/restart", json!({"stop": 2.4, "start": 35.3}));
        }
        "pods-of-a-deployment" => ns("rec-pods"),
        other => panic!("transcript {other} has no setup here: say what its cluster held"),
    }
    later
}

fn replay(file: &Path) -> Vec<String> {
    let t: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let name = t["scenario"].as_str().unwrap().to_string();
    let notes = t["notes"].to_string();
    let flags: &[&str] = if notes.contains("runs kube-controller-manager") {
        &["--controllers"]
    } else {
        &[]
    };
    let server = ApiServer::start_with(flags);
    let timed = t["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["elapsed_s"].is_number());
    let later = setup(&name, &server);
    let mut r = Replay {
        rv: Bijection::default(),
        uid: Bijection::default(),
        tokens: Bijection::default(),
        problems: Vec::new(),
    };
    let mut before = 0;
    let mut last: Option<u64> = None;
    for e in t["exchanges"].as_array().unwrap() {
        let n = e["step"].as_u64().unwrap();
        if let Some(prev) = last.take() {
            r.settle_step(&name, prev, before);
        }
        before = r.problems.len();
        last = Some(n);
        if let Some(f) = later.get(&n) {
            f(&server);
        }
        let step = format!("{name} step {n}");
        let req = &e["request"];
        // Protobuf bodies (Helm's release Secrets) are sent as the JSON the transcript
        // decoded them to, and answers asked for as JSON: the same objects, the format the
        // fake speaks.
        let protobuf = req["body_encoding"] == "protobuf";
        let mut headers: Vec<(String, String)> = req["headers"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "If-None-Match" | "If-Modified-Since"))
            .map(|(k, v)| {
                let v = v.as_str().unwrap();
                let v = if v.contains("protobuf") {
                    "application/json"
                } else {
                    v
                };
                (k.clone(), v.to_string())
            })
            .collect();
        headers.push((
            "Authorization".into(),
            format!("Bearer {}", e["user"].as_str().unwrap_or("admin")),
        ));
        // Without times, the scenario ran faster than any controller's first write: its
        // clock stays at the start.
        let at = e["elapsed_s"].as_f64().or((!timed).then_some(0.0));
        if let Some(at) = at {
            headers.push(("X-Fake-Elapsed".into(), at.to_string()));
        }
        let decoded = protobuf.then(|| req["body_decoded"].to_string());
        let body = decoded
            .as_deref()
            .unwrap_or_else(|| req["body"].as_str().unwrap_or_default());
        let body = to_fake(body, [&r.uid, &r.rv, &r.tokens]);
        let path = to_fake(req["path"].as_str().unwrap(), [&r.uid, &r.rv, &r.tokens]);
        let hdrs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let answer = try_http(
            &server.host,
            req["method"].as_str().unwrap(),
            &path,
            &hdrs,
            body.as_bytes(),
        );
        let resp = &e["response"];
        let (status, got_headers, got) = match (answer, resp.is_null()) {
            (None, true) => continue,
            (Some((status, _, _)), true) => {
                r.fail(
                    &step,
                    format!(
                        "recorded no answer ({}), fake answered {status}",
                        e["error"].as_str().unwrap_or_default()
                    ),
                );
                continue;
            }
            (None, false) => {
                r.fail(
                    &step,
                    "the fake closed the connection without an answer".into(),
                );
                continue;
            }
            (Some(a), false) => a,
        };
        let want_status = resp["status"].as_u64().unwrap() as u16;
        if status != want_status {
            r.fail(
                &step,
                format!(
                    "status: recorded {want_status}, fake {status}: {}",
                    String::from_utf8_lossy(&got)
                ),
            );
            continue;
        }
        let header = |k: &str| -> Vec<String> {
            got_headers
                .iter()
                .filter(|(h, _)| h == k)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let want_type = match resp["headers"]["Content-Type"].as_str().unwrap_or_default() {
            t if t.contains("protobuf") => "application/json",
            t => t,
        };
        if header("content-type").first().map(String::as_str) != Some(want_type) {
            r.fail(
                &step,
                format!(
                    "Content-Type: recorded {want_type}, fake {:?}",
                    header("content-type")
                ),
            );
        }
        let want_warnings: Vec<String> = resp["headers"]["Warning"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| w.as_str().unwrap().to_string())
            .collect();
        if want_warnings != header("warning") {
            r.fail(
                &step,
                format!(
                    "Warning: recorded {want_warnings:?}, fake {:?}",
                    header("warning")
                ),
            );
        }
        if let Some(text) = resp["body_text"].as_str() {
            if text.as_bytes() != got.as_slice() {
                r.fail(
                    &step,
                    format!(
                        "body: recorded {text:?}, fake {:?}",
                        String::from_utf8_lossy(&got)
                    ),
                );
            }
            continue;
        }
        if resp["body"].is_null() {
            continue;
        }
        let fake: Value = match serde_json::from_slice(&got) {
            Ok(v) => v,
            Err(err) => {
                r.fail(
                    &step,
                    format!("not JSON ({err}): {}", String::from_utf8_lossy(&got)),
                );
                continue;
            }
        };
        // The applied object, decoded independently of both ends: JSON bodies as JSON; YAML
        // bodies are compared through what the real server stored (the recorded response).
        let applied = serde_json::from_str::<Value>(&body).ok();
        r.body(&step, &resp["body"], &fake, applied.as_ref());
    }
    if let Some(prev) = last {
        r.settle_step(&name, prev, before);
    }
    r.problems
}

#[test]
fn the_fake_api_server_reproduces_every_recorded_exchange() {
    let files = transcripts();
    assert!(files.len() >= 15, "{files:?}");
    let mut problems = Vec::new();
    for f in &files {
        problems.extend(replay(f));
    }
    assert!(
        problems.is_empty(),
        "{} differences from the real API server:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
