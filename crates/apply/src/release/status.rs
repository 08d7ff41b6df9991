//! A release's members as the cluster has them now: there or missing, ready or not (the
//! readiness rules of `--wait`), and changed by a field manager other than ferry's.

use serde_json::Value;

use super::Member;
use crate::cluster::{Cluster, ClusterError};
use crate::ready::{self, State};

/// One member, now.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemberState {
    #[serde(flatten)]
    pub member: Member,
    /// `ready`, `not ready: WHY`, `missing`, `present` (a kind without readiness), or
    /// `replaced` (its uid is not the recorded one: deleted and made again).
    pub state: String,
    /// Field managers other than ferry's that changed it (`kubectl-edit`, `helm`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed_by: Vec<String>,
}

/// Managers that write what ferry applies as part of running it, not as drift: ferry's own,
/// and the API server's and controllers' bookkeeping.
fn is_ours_or_the_servers(manager: &str) -> bool {
    manager.starts_with("ferry")
        || manager == "before-first-apply"
        || manager.starts_with("kube-")
        || manager.ends_with("-controller")
}

/// The managers other than ferry's that own fields of `live` outside its status.
pub fn changed_by(live: &Value) -> Vec<String> {
    let mut out: Vec<String> = live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["subresource"].as_str().unwrap_or_default().is_empty())
        .filter_map(|e| e["manager"].as_str())
        .filter(|m| !is_ours_or_the_servers(m))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

fn state_of(member: &Member, live: &Value) -> String {
    if let (Some(recorded), Some(now)) = (&member.uid, live["metadata"]["uid"].as_str())
        && recorded != now
    {
        return "replaced (not the object ferry applied: deleted and made again)".into();
    }
    let state = if member.kind == "CustomResourceDefinition" {
        ready::crd(live)
    } else if ready::is_workload(&member.kind) {
        ready::workload(&member.kind, live)
    } else {
        return "present".into();
    };
    match state {
        State::Ready => "ready".into(),
        State::Pending(why) | State::Failed(why) => format!("not ready: {why}"),
        State::NoStatus => "not ready: no status (is kube-controller-manager running?)".into(),
    }
}

/// Each member as it is now.
pub async fn members(
    cluster: &Cluster,
    members: &[Member],
) -> Result<Vec<MemberState>, ClusterError> {
    let mut out = Vec::new();
    for m in members {
        let Some((api_version, resource)) = cluster.resource_of(&m.group, &m.kind) else {
            out.push(MemberState {
                member: m.clone(),
                state: "missing (the server no longer serves its kind)".into(),
                changed_by: Vec::new(),
            });
            continue;
        };
        let prefix = if m.group.is_empty() { "/api" } else { "/apis" };
        let url = match (&m.namespace, resource.namespaced) {
            (Some(ns), true) => format!(
                "{prefix}/{api_version}/namespaces/{ns}/{}/{}",
                resource.plural, m.name
            ),
            _ => format!("{prefix}/{api_version}/{}/{}", resource.plural, m.name),
        };
        let (state, changed) = match cluster.get(&url).await? {
            None => ("missing".to_string(), Vec::new()),
            Some(live) => (state_of(m, &live), changed_by(&live)),
        };
        out.push(MemberState {
            member: m.clone(),
            state,
            changed_by: changed,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_is_another_managers_fields_outside_status() {
        let live = serde_json::json!({"metadata": {"managedFields": [
            {"manager": "ferry", "operation": "Apply"},
            {"manager": "kubectl-edit", "operation": "Update"},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status"},
            {"manager": "before-first-apply", "operation": "Update"},
            {"manager": "helm", "operation": "Apply"},
            {"manager": "someone", "operation": "Update", "subresource": "status"}
        ]}});
        assert_eq!(changed_by(&live), ["helm", "kubectl-edit"]);
    }
}
