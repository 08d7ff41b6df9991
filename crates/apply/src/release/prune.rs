//! Prune: the objects labelled as members of a release that its new revision no longer has,
//! found as kubectl's ApplySet prune finds them (a LIST per group kind the parent names, by
//! the `applyset.kubernetes.io/part-of` label, in each namespace the parent names), deleted
//! in the reverse of apply order. Some are never deleted unless asked (see [`keep_reason`]).

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Member, PART_OF};
use crate::cluster::{Cluster, ClusterError};
use crate::listen::{ApplyEvent, Listener};
use crate::plan::{self, Object, Phase};

/// An object of the release found in the cluster, with where it lives.
#[derive(Debug, Clone)]
pub struct Found {
    pub member: Member,
    pub url: String,
}

impl Found {
    /// As an object, for events (its text is not needed: it is deleted, not applied).
    pub fn object(&self, file: &str) -> Object {
        Object {
            api_version: self.member.api_version(),
            kind: self.member.kind.clone(),
            name: self.member.name.clone(),
            namespace: self.member.namespace.clone(),
            file: file.to_string(),
            line: 0,
            document: 0,
            yaml: String::new(),
        }
    }

    /// Its apply phase: prune deletes in the reverse order.
    pub fn phase(&self) -> Phase {
        plan::phase(&self.object(""), &BTreeSet::new())
    }
}

/// Every object labelled part of `id`, of the `group_kinds` (`Kind.group`) in `namespaces`
/// (cluster-scoped kinds once), in the reverse of apply order.
pub async fn members(
    cluster: &Cluster,
    id: &str,
    group_kinds: &BTreeSet<String>,
    namespaces: &BTreeSet<String>,
) -> Result<Vec<Found>, ClusterError> {
    let selector = format!("{}%3D{id}", PART_OF.replace('/', "%2F"));
    let mut found = Vec::new();
    for gk in group_kinds {
        let (kind, group) = gk.split_once('.').unwrap_or((gk.as_str(), ""));
        // A kind the server no longer serves (its CRD is gone) has no objects left.
        let Some((api_version, resource)) = cluster.resource_of(group, kind) else {
            continue;
        };
        let prefix = if group.is_empty() {
            format!("/api/{api_version}")
        } else {
            format!("/apis/{api_version}")
        };
        let scopes: Vec<Option<&String>> = if resource.namespaced {
            namespaces.iter().map(Some).collect()
        } else {
            vec![None]
        };
        for ns in scopes {
            let collection = match ns {
                Some(ns) => format!("{prefix}/namespaces/{ns}/{}", resource.plural),
                None => format!("{prefix}/{}", resource.plural),
            };
            for item in cluster
                .list(&format!("{collection}?labelSelector={selector}"))
                .await?
            {
                found.push(found_item(&item, group, kind, &api_version, &collection));
            }
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.phase()));
    Ok(found)
}

/// The members the record lists that the label search did not find (their label was taken
/// off: a `helm upgrade` of a chart's objects does), when the object there is still the one
/// recorded (same uid): ferry's to prune as well.
pub async fn recorded(
    cluster: &Cluster,
    members: &[Member],
    have: &[Found],
) -> Result<Vec<Found>, ClusterError> {
    let mut out = Vec::new();
    for m in members {
        if have.iter().any(|f| f.member.key() == m.key()) {
            continue;
        }
        let Some((api_version, resource)) = cluster.resource_of(&m.group, &m.kind) else {
            continue;
        };
        let prefix = if m.group.is_empty() { "/api" } else { "/apis" };
        let collection = match (&m.namespace, resource.namespaced) {
            (Some(ns), true) => {
                format!("{prefix}/{api_version}/namespaces/{ns}/{}", resource.plural)
            }
            _ => format!("{prefix}/{api_version}/{}", resource.plural),
        };
        let url = format!("{collection}/{}", m.name);
        let Some(live) = cluster.get(&url).await? else {
            continue;
        };
        let same = match (&m.uid, live["metadata"]["uid"].as_str()) {
            (Some(recorded), Some(now)) => recorded == now,
            _ => false,
        };
        if same {
            out.push(Found {
                member: m.clone(),
                url,
            });
        }
    }
    Ok(out)
}

fn found_item(item: &Value, group: &str, kind: &str, api_version: &str, collection: &str) -> Found {
    let meta = &item["metadata"];
    let name = meta["name"].as_str().unwrap_or_default().to_string();
    let version = api_version.rsplit_once('/').map_or(api_version, |(_, v)| v);
    Found {
        member: Member {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            namespace: meta["namespace"].as_str().map(str::to_string),
            name: name.clone(),
            uid: meta["uid"].as_str().map(str::to_string),
        },
        url: format!("{collection}/{name}"),
    }
}

/// What [`remove`] did.
#[derive(Debug, Default)]
pub struct Removed {
    pub deleted: usize,
    pub kept: usize,
    pub failed: usize,
}

/// How [`remove`] says and does what it does.
pub struct Removal<'a> {
    /// Why the deleted go (`not in 2.0.0`, `uninstall shop`).
    pub why: &'a str,
    /// The events' file (`(release shop)`).
    pub file: &'a str,
    pub dry: bool,
    pub deadline: std::time::Instant,
}

/// Removes `found` as prune and uninstall do: each one `keep` gives a reason for is kept and
/// loses the member label (it is no longer the release's); the others are deleted, said
/// with `how.why`, and waited for until the deadline. Each failure is reported and counted.
pub async fn remove(
    cluster: &Cluster,
    found: &[&Found],
    keep: impl Fn(&Member) -> Option<String>,
    how: &Removal<'_>,
    listener: &dyn Listener,
) -> Removed {
    let (why, file, dry, deadline) = (how.why, how.file, how.dry, how.deadline);
    let mut done = Removed::default();
    let failed = |object: &Object, e: &ClusterError, done: &mut Removed| {
        done.failed += 1;
        listener.apply(&ApplyEvent::Failed {
            object,
            message: ferry_core::error::chain(e),
        });
    };
    let mut waiting = Vec::new();
    for f in found {
        let object = f.object(file);
        if let Some(reason) = keep(&f.member) {
            done.kept += 1;
            listener.apply(&ApplyEvent::Kept {
                object: &object,
                why: reason,
            });
            if !dry && let Err(e) = cluster.remove_label(&f.url, PART_OF).await {
                failed(&object, &e, &mut done);
            }
            continue;
        }
        let what = format!("{} {}", f.member.kind, f.member.name);
        match cluster.delete_at(&f.url, &what, dry).await {
            Ok(_) => {
                done.deleted += 1;
                listener.apply(&ApplyEvent::Deleted {
                    object: &object,
                    why: why.to_string(),
                    dry_run: dry,
                });
                waiting.push((f, what, object));
            }
            Err(e) => failed(&object, &e, &mut done),
        }
    }
    if !dry {
        for (f, what, object) in waiting {
            if let Err(e) = cluster.wait_gone(&f.url, &what, deadline).await {
                failed(&object, &e, &mut done);
            }
        }
    }
    done
}

/// Why prune leaves an object that the new revision dropped, or None to delete it.
pub fn keep_reason(member: &Member, prune_crds: bool) -> Option<&'static str> {
    match (member.group.as_str(), member.kind.as_str()) {
        ("apiextensions.k8s.io", "CustomResourceDefinition") if !prune_crds => Some(
            "deleting a CRD deletes every resource of its kind in the cluster; --prune-crds deletes it",
        ),
        ("", "PersistentVolumeClaim") => {
            Some("a volume claim holds data; delete it yourself if it is no longer needed")
        }
        ("", "Namespace") => Some(
            "a namespace may hold objects outside the release; delete it yourself if it is empty",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(group: &str, kind: &str) -> Member {
        Member {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: None,
            name: "x".into(),
            uid: None,
        }
    }

    #[test]
    fn crds_claims_and_namespaces_are_kept_unless_asked() {
        let crd = member("apiextensions.k8s.io", "CustomResourceDefinition");
        assert!(keep_reason(&crd, false).unwrap().contains("--prune-crds"));
        assert_eq!(keep_reason(&crd, true), None);
        assert!(keep_reason(&member("", "PersistentVolumeClaim"), true).is_some());
        assert!(keep_reason(&member("", "Namespace"), true).is_some());
        assert_eq!(keep_reason(&member("apps", "Deployment"), false), None);
    }

    #[test]
    fn prune_goes_in_the_reverse_of_apply_order() {
        let f = |group: &str, kind: &str| Found {
            member: member(group, kind),
            url: String::new(),
        };
        let mut all = [
            f("", "ConfigMap"),
            f("example.com", "Widget"),
            f("apps", "Deployment"),
        ];
        all.sort_by_key(|f| std::cmp::Reverse(f.phase()));
        let kinds: Vec<&str> = all.iter().map(|f| f.member.kind.as_str()).collect();
        assert_eq!(kinds, ["Widget", "Deployment", "ConfigMap"]);
    }
}
