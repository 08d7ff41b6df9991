//! The apply plan: every object of the manifests, with its document's own text (sent as
//! `application/apply-patch+yaml`, so YAML 1.1 values like `0644` reach the API server as
//! written), in the order that lets each apply succeed: CRDs (then wait for Established),
//! Namespaces, the objects others refer to, workloads, and custom resources last.

use std::collections::BTreeSet;
use std::path::PathBuf;

use ferry_core::yaml;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Input(#[from] ferry_scan::inputs::InputError),
    #[error(transparent)]
    Render(#[from] ferry_scan::render::RenderError),
    /// The YAML error shows as `FILE:LINE:COLUMN: what`.
    #[error("{file}:{error}")]
    Yaml {
        file: String,
        error: yaml::YamlError,
    },
    #[error("{file}:{line}: {message}")]
    Object {
        file: String,
        line: usize,
        message: String,
    },
    /// The same object more than once: the last would silently win.
    #[error(
        "{} defined more than once (the last would silently replace the others):\n  {}",
        ferry_core::text::counted(.0.len(), "object"),
        .0.join("\n  ")
    )]
    Duplicates(Vec<String>),
}

/// Refuses objects defined more than once (same group, kind, namespace and name), naming
/// every place each is defined. Objects that name no namespace land in one default
/// namespace, so two of them collide.
pub fn check_duplicates(objects: &[Object]) -> Result<(), PlanError> {
    let mut places: std::collections::BTreeMap<(&str, &str, Option<&str>, &str), Vec<String>> =
        std::collections::BTreeMap::new();
    for o in objects {
        places
            .entry((o.group(), &o.kind, o.namespace.as_deref(), &o.name))
            .or_default()
            .push(format!("{}:{}", o.file, o.line));
    }
    let dups: Vec<String> = places
        .into_iter()
        .filter(|(_, at)| at.len() > 1)
        .map(|((group, kind, ns, name), at)| {
            let group = if group.is_empty() {
                String::new()
            } else {
                format!(".{group}")
            };
            let ns = ns.map(|n| format!(" in {n}")).unwrap_or_default();
            format!("{kind}{group} {name}{ns}: {}", at.join(", "))
        })
        .collect();
    if dups.is_empty() {
        Ok(())
    } else {
        Err(PlanError::Duplicates(dups))
    }
}

/// One Kubernetes object to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub file: String,
    /// 1-based line of the document's first key.
    pub line: usize,
    pub document: usize,
    /// The document's text as written.
    pub yaml: String,
}

impl Object {
    /// The `helm.sh/hook` annotation's events (`pre-install`, `test`), if any.
    pub fn helm_hooks(&self) -> Vec<String> {
        self.annotation("helm.sh/hook")
            .map(|h| h.split(',').map(|e| e.trim().to_string()).collect())
            .unwrap_or_default()
    }

    /// A Helm test: run by `helm test`, never installed.
    pub fn is_helm_test(&self) -> bool {
        self.helm_hooks()
            .iter()
            .any(|h| h == "test" || h == "test-success" || h == "test-failure")
    }

    /// When an install runs it, if it is a Helm hook an install runs.
    pub fn install_hook(&self) -> Option<Hook> {
        self.hook_for(HookEvent::Install)
    }

    /// When a run of `event` runs it, if it is one of that event's Helm hooks.
    pub fn hook_for(&self, event: HookEvent) -> Option<Hook> {
        let hooks = self.helm_hooks();
        let (pre, post) = event.hooks();
        if hooks.iter().any(|h| h == pre) {
            Some(Hook::Pre)
        } else if hooks.iter().any(|h| h == post) {
            Some(Hook::Post)
        } else {
            None
        }
    }

    /// A Helm hook (of any event; tests are set aside before).
    pub fn is_hook(&self) -> bool {
        !self.helm_hooks().is_empty()
    }

    /// `helm.sh/hook-weight` (Helm orders hooks by it, lowest first; default 0).
    pub fn hook_weight(&self) -> i64 {
        self.annotation("helm.sh/hook-weight")
            .and_then(|w| w.trim().parse().ok())
            .unwrap_or(0)
    }

    /// `helm.sh/hook-delete-policy`; Helm's default is `before-hook-creation`.
    pub fn hook_delete_policies(&self) -> Vec<String> {
        match self.annotation("helm.sh/hook-delete-policy") {
            Some(p) => p.split(',').map(|e| e.trim().to_string()).collect(),
            None => vec!["before-hook-creation".to_string()],
        }
    }

    pub(crate) fn annotation(&self, name: &str) -> Option<String> {
        self.read_metadata(|m| m.get("annotations")?.get_str(name).map(str::to_string))
    }

    /// The namespace its own text names, if any (`namespace` may have been given it since).
    pub(crate) fn written_namespace(&self) -> Option<String> {
        self.read_metadata(|m| m.get_str("namespace").map(str::to_string))
    }

    /// What `read` takes from the document's `metadata`, the text parsed once.
    pub(crate) fn read_metadata<T>(
        &self,
        read: impl FnOnce(&yaml::Node<'_>) -> Option<T>,
    ) -> Option<T> {
        let docs = yaml::parse_documents(&self.yaml).ok()?;
        read(docs.first()?.root.get("metadata")?)
    }

    /// The API group (`""` for the core group).
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }
}

/// The Helm hooks an install runs: before the chart's objects, or after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Pre,
    Post,
}

/// What a run does to a release, as Helm names its hooks after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookEvent {
    /// The first revision (and a plain apply).
    #[default]
    Install,
    Upgrade,
    Rollback,
    Delete,
}

impl HookEvent {
    /// The `helm.sh/hook` values run before and after the objects.
    pub fn hooks(self) -> (&'static str, &'static str) {
        match self {
            HookEvent::Install => ("pre-install", "post-install"),
            HookEvent::Upgrade => ("pre-upgrade", "post-upgrade"),
            HookEvent::Rollback => ("pre-rollback", "post-rollback"),
            HookEvent::Delete => ("pre-delete", "post-delete"),
        }
    }
}

impl std::fmt::Display for HookEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HookEvent::Install => "an install",
            HookEvent::Upgrade => "an upgrade",
            HookEvent::Rollback => "a rollback",
            HookEvent::Delete => "an uninstall",
        })
    }
}

/// Apply order; objects keep their file order within a phase (hooks: their weight's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// CustomResourceDefinitions, then a wait for Established and NamesAccepted.
    Crds,
    Namespaces,
    /// Helm `pre-install`/`pre-upgrade` hooks, by weight: each weight's Jobs and Pods run to
    /// completion before the next (as `helm install` runs them).
    PreHooks,
    /// What workloads refer to: service accounts, RBAC, secrets, config maps, services, storage.
    Foundations,
    /// Deployments, StatefulSets, DaemonSets, Jobs and every other built-in kind.
    Workloads,
    /// Admission webhooks and aggregated APIs: applied once the workloads that serve them
    /// answer, so that nothing after them meets a webhook with no backend.
    Webhooks,
    /// Custom resources: kinds of the CRDs applied, or of groups Kubernetes does not ship.
    CustomResources,
    /// Helm `post-install`/`post-upgrade` hooks, by weight, run to completion.
    PostHooks,
}

impl std::fmt::Display for Phase {
    /// As people and `--output json` read it: `crds`, `pre-hooks`, `custom-resources`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Crds => "crds",
            Phase::Namespaces => "namespaces",
            Phase::PreHooks => "pre-hooks",
            Phase::Foundations => "foundations",
            Phase::Workloads => "workloads",
            Phase::Webhooks => "webhooks",
            Phase::CustomResources => "custom-resources",
            Phase::PostHooks => "post-hooks",
        })
    }
}

/// Built-in kinds without a namespace (the client-side plan has no discovery to ask).
pub const CLUSTER_SCOPED_KINDS: [&str; 10] = [
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const FOUNDATION_KINDS: [&str; 16] = [
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "ClusterRole",
    "Role",
    "ClusterRoleBinding",
    "RoleBinding",
    "Service",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "StorageClass",
    "PriorityClass",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "PodDisruptionBudget",
];

/// Groups Kubernetes itself serves; anything else is a custom resource.
const BUILT_IN_GROUPS: [&str; 19] = [
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "rbac.authorization.k8s.io",
    "networking.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "events.k8s.io",
    "resource.k8s.io",
];

/// Whether Kubernetes itself serves `group` (no CRD makes it).
pub fn is_built_in(group: &str) -> bool {
    BUILT_IN_GROUPS.contains(&group)
}

pub fn phase(o: &Object, crd_groups: &BTreeSet<String>) -> Phase {
    phase_for(o, crd_groups, HookEvent::Install).unwrap_or_else(|| kind_phase(o, crd_groups))
}

/// The phase of `o` in a run of `event`; None for a hook of another event.
fn phase_for(o: &Object, crd_groups: &BTreeSet<String>, event: HookEvent) -> Option<Phase> {
    match o.hook_for(event) {
        Some(Hook::Pre) => Some(Phase::PreHooks),
        Some(Hook::Post) => Some(Phase::PostHooks),
        None if o.is_hook() => None,
        None => Some(kind_phase(o, crd_groups)),
    }
}

/// The phase of an object's kind, hook or not.
fn kind_phase(o: &Object, crd_groups: &BTreeSet<String>) -> Phase {
    match o.kind.as_str() {
        "CustomResourceDefinition" if o.group() == "apiextensions.k8s.io" => Phase::Crds,
        "Namespace" if o.group().is_empty() => Phase::Namespaces,
        _ if crd_groups.contains(o.group()) || !BUILT_IN_GROUPS.contains(&o.group()) => {
            Phase::CustomResources
        }
        k if FOUNDATION_KINDS.contains(&k) => Phase::Foundations,
        "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" | "APIService" => {
            Phase::Webhooks
        }
        _ => Phase::Workloads,
    }
}

/// Objects in apply order, each with its phase (an install's hooks).
pub fn order(objects: Vec<Object>) -> Vec<(Phase, Object)> {
    order_for(objects, HookEvent::Install).0
}

/// Objects in the apply order of a run of `event`, each with its phase, and apart the hooks
/// of other events, which this run does not apply.
pub fn order_for(objects: Vec<Object>, event: HookEvent) -> (Vec<(Phase, Object)>, Vec<Object>) {
    let (run, other): (Vec<Object>, Vec<Object>) = objects
        .into_iter()
        .partition(|o| !o.is_hook() || o.hook_for(event).is_some());
    (order_all(run, event), other)
}

fn order_all(objects: Vec<Object>, event: HookEvent) -> Vec<(Phase, Object)> {
    let crd_groups: BTreeSet<String> = objects
        .iter()
        .filter(|o| o.kind == "CustomResourceDefinition")
        .filter_map(|o| {
            let docs = yaml::parse_documents(&o.yaml).ok()?;
            let spec = docs.first()?.root.get("spec")?;
            spec.get_str("group").map(str::to_string)
        })
        .collect();
    let mut planned: Vec<(Phase, Object)> = objects
        .into_iter()
        .filter_map(|o| phase_for(&o, &crd_groups, event).map(|p| (p, o)))
        .collect();
    // Hooks of one weight keep Helm's kind order: what a Job needs before the Job.
    planned.sort_by_key(|(p, o)| match p {
        Phase::PreHooks | Phase::PostHooks => {
            (*p, o.hook_weight(), kind_phase(o, &crd_groups) as i64)
        }
        _ => (*p, 0, 0),
    });
    planned
}

/// Loads every object of the inputs (as `scan` expands paths), each kustomization root
/// rendered by kustomize, the items of `List` documents as objects of their own. A document
/// that is not a Kubernetes object (no apiVersion, kind or metadata.name) is an error naming
/// its line; empty documents are skipped.
/// Also returns the notes of the walk (links passed over, no kustomize).
pub fn load(
    paths: &[PathBuf],
    render: &ferry_scan::render::RenderOptions,
) -> Result<(Vec<Object>, Vec<String>), PlanError> {
    let plan = ferry_scan::render::plan(paths, render)?;
    let mut objects = Vec::new();
    let mut notes = plan.notes.clone();
    for unit in &plan.units {
        // Values files feed charts; they are not objects to apply.
        if matches!(unit, ferry_scan::render::Unit::File(p) if ferry_scan::inputs::is_values_file(p))
        {
            continue;
        }
        let source = plan.load(unit)?;
        objects.extend(load_text(&source.label, &source.text)?);
    }
    let (objects, tests) = without_helm_tests(objects);
    notes.extend(tests);
    Ok((objects, notes))
}

/// The objects to install: Helm tests (`helm.sh/hook: test`) are run by `helm test`, never
/// installed; a note for each one left out. Hooks of every event stay: each run applies
/// those of its own event (install, upgrade, rollback, uninstall), and the release's record
/// keeps them for the later ones.
pub fn without_helm_tests(objects: Vec<Object>) -> (Vec<Object>, Vec<String>) {
    let mut kept = Vec::new();
    let mut notes = Vec::new();
    for o in objects {
        if o.is_helm_test() {
            notes.push(format!(
                "{}:{}: {}/{} is a Helm test (helm.sh/hook: test): not applied, its images are \
                 carried for `helm test`",
                o.file, o.line, o.kind, o.name
            ));
        } else {
            kept.push(o);
        }
    }
    (kept, notes)
}

/// The objects of one file's text, as [`load`] reads them; `file` names it in errors.
/// One document's tree at a time, and a List's items are not kept as trees (only where
/// they start): the texts the objects keep are the memory this takes.
pub fn load_text(file: &str, source: &str) -> Result<Vec<Object>, PlanError> {
    let mut objects = Vec::new();
    let mut failed = None;
    let parsed = yaml::for_each_document_and_item(source, |parsed| {
        if let (yaml::Parsed::Document(doc), None) = (parsed, &failed) {
            match document_objects(file, source, &doc) {
                Ok(found) => objects.extend(found),
                Err(e) => failed = Some(e),
            }
        }
    });
    parsed.map_err(|error| PlanError::Yaml {
        file: file.to_string(),
        error,
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(objects),
    }
}

/// The objects of one document: itself, or each item of a `List`.
fn document_objects(
    file: &str,
    source: &str,
    doc: &yaml::Document,
) -> Result<Vec<Object>, PlanError> {
    let line = doc.root.pos().line as usize;
    let bad = |line: usize, message: &str| PlanError::Object {
        file: file.to_string(),
        line,
        message: message.to_string(),
    };
    let is_list = doc
        .root
        .get_str("kind")
        .is_some_and(|k| k.ends_with("List"))
        && doc.root.get("items").is_some();
    let members = if is_list {
        list_items(source, doc).map_err(|(l, m)| bad(l, m))?
    } else {
        vec![(line, doc.text(source).to_string())]
    };
    let mut objects = Vec::new();
    for (line, text) in members {
        let parsed = yaml::parse_documents(&text).map_err(|e| bad(line, &e.message))?;
        let Some(root) = parsed.first().map(|d| &d.root) else {
            continue;
        };
        objects.push(object(root, file, line, doc.index, &text).map_err(|m| bad(line, m))?);
    }
    Ok(objects)
}

/// The object a document (or a List item) holds.
fn object(
    root: &yaml::Node,
    file: &str,
    line: usize,
    document: usize,
    text: &str,
) -> Result<Object, &'static str> {
    if !root.is_map() {
        return Err("not a Kubernetes object (not a mapping)");
    }
    if ferry_scan::scan::kustomize::is_kustomization(
        root.get_str("apiVersion"),
        root.get_str("kind"),
        file,
    ) {
        return Err(
            "a kustomization, and no kustomize to render it: put kustomize or kubectl on PATH, \
             or give --kustomize PROGRAM",
        );
    }
    let api_version = root.get_str("apiVersion").ok_or("no apiVersion")?;
    let kind = root.get_str("kind").ok_or("no kind")?;
    let meta = root.get("metadata");
    let name = meta
        .and_then(|m| m.get_str("name"))
        .ok_or("no metadata.name")?;
    Ok(Object {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        name: name.to_string(),
        namespace: meta
            .and_then(|m| m.get_str("namespace"))
            .map(str::to_string),
        file: file.to_string(),
        line,
        document,
        yaml: text.to_string(),
    })
}

const LIST_ITEMS: &str =
    "List items must be block mappings, one per `- ` entry (or give them as documents)";

/// The items of a `List` document, each as a document of its own: the lines from the item's
/// first line to the next item's, with the `- ` indicator blanked and the item's indentation
/// removed, so the text stays as written (comments, quoting, `0644`). Block style only.
fn list_items(
    source: &str,
    doc: &yaml::Document,
) -> Result<Vec<(usize, String)>, (usize, &'static str)> {
    let list_line = doc.root.pos().line as usize;
    let items = doc
        .root
        .get("items")
        .and_then(yaml::Node::as_seq)
        .ok_or((list_line, "a List without an items sequence"))?;
    let lines: Vec<&str> = source[doc.span.clone()].split_inclusive('\n').collect();
    // Line numbers are of the whole file; `lines` starts at the document's first line.
    let first_line = source[..doc.span.start].matches('\n').count() + 1;
    // The items end where the next key of the List starts, or with the document.
    let items_line = doc
        .root
        .entries()
        .iter()
        .find(|(k, _)| k.as_ref().is_some_and(|k| k.text == "items"))
        .and_then(|(k, _)| k.as_ref())
        .map_or(list_line, |k| k.pos.line as usize);
    let end_line = doc
        .root
        .entries()
        .iter()
        .filter_map(|(k, _)| k.as_ref())
        .map(|k| k.pos.line as usize)
        .filter(|&l| l > items_line)
        .min()
        .unwrap_or(first_line + lines.len());
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let pos = item.pos();
        let (start, column) = (pos.line as usize, pos.column as usize);
        let next = items.get(i + 1).map_or(end_line, |n| n.pos().line as usize);
        // A taken item is an object (a mapping with apiVersion and kind).
        let mapping = item.is_map() || matches!(item, yaml::Node::Taken(_));
        if next <= start || !mapping {
            return Err((start, LIST_ITEMS));
        }
        let indent = column - 1;
        let lead = lines[start - first_line].get(..indent).unwrap_or("-");
        if !lead.chars().all(|c| c == ' ' || c == '-') {
            return Err((start, LIST_ITEMS));
        }
        let mut text = String::new();
        for (n, line) in lines[start - first_line..next - first_line]
            .iter()
            .enumerate()
        {
            let mut line = line.to_string();
            if n == 0 {
                // Blank the `- ` indicator(s) before the item's first key.
                line = format!("{}{}", " ".repeat(indent), line.get(indent..).unwrap_or(""));
            }
            let strip = line.len() - line.trim_start_matches(' ').len();
            text.push_str(&line[strip.min(indent)..]);
        }
        out.push((start, text));
    }
    Ok(out)
}

/// A CRD's (group, kind), from its document.
pub(crate) fn crd_names(o: &Object) -> Option<(String, String)> {
    let docs = yaml::parse_documents(&o.yaml).ok()?;
    let spec = docs.first()?.root.get("spec")?;
    Some((
        spec.get_str("group")?.to_string(),
        spec.get("names")?.get_str("kind")?.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn temp(name: &str) -> ferry_core::scratch::ScratchDir {
        ferry_core::scratch::ScratchDir::for_test(&format!("plan-{name}"))
    }

    fn auto() -> ferry_scan::render::RenderOptions {
        ferry_scan::render::RenderOptions::default()
    }

    #[test]
    fn crds_first_custom_resources_last_text_kept() {
        let d = temp("order");
        write(
            &d,
            "all.yaml",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n\
             apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: ns}\nspec:\n  template:\n    spec:\n      volumes: [{name: v, configMap: {name: c, defaultMode: 0644}}]\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n---\n\
             apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec: {group: example.com}\n",
        );
        let planned = order(load(&[d.to_path_buf()], &auto()).unwrap().0);
        let kinds: Vec<(Phase, &str)> =
            planned.iter().map(|(p, o)| (*p, o.kind.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (Phase::Crds, "CustomResourceDefinition"),
                (Phase::Namespaces, "Namespace"),
                (Phase::Foundations, "ConfigMap"),
                (Phase::Workloads, "Deployment"),
                (Phase::CustomResources, "Widget"),
            ]
        );
        let dep = &planned[3].1;
        assert!(dep.yaml.contains("defaultMode: 0644"), "{}", dep.yaml);
        assert_eq!(
            (dep.line, dep.document, dep.namespace.as_deref()),
            (5, 1, Some("ns"))
        );
    }

    #[test]
    fn non_objects_are_errors_naming_the_line() {
        let d = temp("bad");
        write(
            &d,
            "a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\nkind: Secret\nmetadata: {name: x}\n",
        );
        let err = load(&[d.to_path_buf()], &auto()).unwrap_err().to_string();
        assert!(err.ends_with("a.yaml:5: no apiVersion"), "{err}");
        write(
            &d,
            "a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n",
        );
        write(&d, "kustomization.yaml", "resources: [a.yaml]\n");
        let off = ferry_scan::render::RenderOptions {
            kustomize: ferry_scan::render::KustomizeChoice::Off,
            ..Default::default()
        };
        let err = load(&[d.to_path_buf()], &off).unwrap_err().to_string();
        assert!(
            err.contains("kustomization.yaml:1: a kustomization, and no kustomize"),
            "{err}"
        );
        // With kustomize, the kustomization's output is what is applied.
        let objects = load(&[d.to_path_buf()], &auto()).unwrap().0;
        assert_eq!(objects.len(), 1, "{objects:?}");
        assert!(
            objects[0].file.ends_with("(rendered)"),
            "{}",
            objects[0].file
        );
        std::fs::remove_file(d.join("kustomization.yaml")).unwrap();
        write(
            &d,
            "a.yaml",
            "apiVersion: v1\nkind: List\nitems: [{kind: ConfigMap}]\n",
        );
        assert!(
            load(&[d.to_path_buf()], &auto())
                .unwrap_err()
                .to_string()
                .contains("List items")
        );
    }

    #[test]
    fn list_items_are_objects_with_their_own_text() {
        let d = temp("list");
        write(
            &d,
            "list.yaml",
            "apiVersion: v1\nkind: List\nitems:\n  # the config\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: c\n      namespace: ns\n    data:\n      script: |\n        echo 'kept as written'\n  -   apiVersion: apps/v1\n      kind: Deployment\n      metadata: {name: d}\n      spec:\n        template:\n          spec:\n            volumes: [{name: v, configMap: {name: c, defaultMode: 0644}}]\nmetadata:\n  resourceVersion: \"\"\n---\napiVersion: v1\nkind: ConfigMapList\nitems: []\n",
        );
        let objects = load(&[d.to_path_buf()], &auto()).unwrap().0;
        let summary: Vec<_> = objects
            .iter()
            .map(|o| {
                (
                    o.kind.as_str(),
                    o.name.as_str(),
                    o.namespace.as_deref(),
                    o.line,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("ConfigMap", "c", Some("ns"), 5),
                ("Deployment", "d", None, 13)
            ]
        );
        assert_eq!(
            objects[0].yaml,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: ns\ndata:\n  script: |\n    echo 'kept as written'\n"
        );
        assert!(
            objects[1]
                .yaml
                .starts_with("apiVersion: apps/v1\nkind: Deployment\n")
        );
        assert!(
            objects[1].yaml.contains("defaultMode: 0644"),
            "{}",
            objects[1].yaml
        );
        assert!(!objects[1].yaml.contains("resourceVersion"));
    }

    #[test]
    fn duplicates_are_refused_naming_every_place() {
        let d = temp("dups");
        write(
            &d,
            "a.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: op, namespace: x}\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        );
        write(
            &d,
            "b.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: op, namespace: x}\n---\n\
             apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: op, namespace: y}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {name: c}\n",
        );
        let objects = load(&[d.to_path_buf()], &auto()).unwrap().0;
        let err = check_duplicates(&objects).unwrap_err().to_string();
        assert!(err.starts_with("1 object defined more than once"), "{err}");
        let a = d.join("a.yaml").display().to_string();
        let b = d.join("b.yaml").display().to_string();
        assert!(
            err.contains(&format!("Deployment.apps op in x: {a}:1, {b}:1")),
            "{err}"
        );
        assert!(check_duplicates(&objects[..2]).is_ok());
    }

    #[test]
    fn fixture_operators_order() {
        // The repository's fixtures, two levels above this crate.
        let fixtures =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/prometheus");
        // Files are read in name order (crs.yaml before operator.yaml): the plan moves the
        // operator's Namespace and Deployment ahead of the custom resources.
        let planned = order(load(&[fixtures], &auto()).unwrap().0);
        let got: Vec<(Phase, String)> = planned
            .iter()
            .map(|(p, o)| (*p, format!("{}/{}", o.kind, o.name)))
            .collect();
        let want = [
            (Phase::Namespaces, "Namespace/monitoring"),
            (Phase::Workloads, "Deployment/prometheus-operator"),
            (Phase::CustomResources, "Prometheus/k8s"),
            (Phase::CustomResources, "Alertmanager/main"),
            (Phase::CustomResources, "PrometheusRule/rules"),
        ];
        assert_eq!(
            got,
            want.map(|(p, s)| (p, s.to_string())).to_vec(),
            "{got:?}"
        );
    }
}
