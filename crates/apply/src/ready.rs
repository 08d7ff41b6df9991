//! Readiness, as `kubectl rollout status` and `kubectl wait` judge it: pure predicates over an
//! object's status that say ready, not yet (and why), or never (a terminal condition, so the
//! wait fails at once instead of running out its time).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Ready,
    /// Not yet, and what is missing.
    Pending(String),
    /// It will not become ready without a change: why.
    Failed(String),
    /// No controller has written its status yet (none may be running: the wait says so
    /// when it has waited long enough for one to have written).
    NoStatus,
}

/// How long a controller takes at most to write a new workload's first status; a wait that
/// saw none for longer asks whether one runs.
pub const CONTROLLER_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

fn condition<'a>(v: &'a Value, kind: &str) -> Option<&'a Value> {
    v["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn is_true(v: &Value, kind: &str) -> bool {
    condition(v, kind).is_some_and(|c| c["status"] == "True")
}

fn said(c: &Value) -> String {
    let reason = c["reason"].as_str().unwrap_or_default();
    let message = c["message"].as_str().unwrap_or_default();
    match (reason.is_empty(), message.is_empty()) {
        (false, false) => format!("{reason}: {message}"),
        (false, true) => reason.to_string(),
        _ => message.to_string(),
    }
}

/// The conditions that are not True, for a report of what is missing.
fn not_true(v: &Value) -> String {
    let cs: Vec<String> = v["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] != "True")
        .map(|c| {
            format!(
                "{}={} ({})",
                c["type"].as_str().unwrap_or("?"),
                c["status"].as_str().unwrap_or("?"),
                said(c)
            )
        })
        .collect();
    cs.join("; ")
}

/// A CRD: NamesAccepted and Established. A names conflict never resolves by itself.
pub fn crd(v: &Value) -> State {
    if let Some(c) = condition(v, "NamesAccepted")
        && c["status"] == "False"
    {
        return State::Failed(format!("its names are not accepted: {}", said(c)));
    }
    if is_true(v, "NamesAccepted") && is_true(v, "Established") {
        return State::Ready;
    }
    match v["status"]["conditions"].as_array() {
        Some(cs) if !cs.is_empty() => {
            State::Pending(format!("not established yet ({})", not_true(v)))
        }
        _ => State::Pending("no conditions yet".into()),
    }
}

/// A workload; other kinds are ready as soon as they are applied.
pub fn workload(kind: &str, v: &Value) -> State {
    let status = &v["status"];
    let n = |p: &str| status[p].as_u64().unwrap_or(0);
    if status.as_object().is_none_or(|s| s.is_empty()) {
        return State::NoStatus;
    }
    let observed = status["observedGeneration"].as_u64().unwrap_or(0)
        >= v["metadata"]["generation"].as_u64().unwrap_or(0);
    match kind {
        "Deployment" => {
            if let Some(c) = condition(v, "Progressing")
                && c["status"] == "False"
                && c["reason"] == "ProgressDeadlineExceeded"
            {
                return State::Failed(format!("rollout failed: {}", said(c)));
            }
            let want = v["spec"]["replicas"].as_u64().unwrap_or(1);
            if observed && n("updatedReplicas") >= want && n("availableReplicas") >= want {
                State::Ready
            } else {
                State::Pending(format!(
                    "{} of {want} replicas available ({})",
                    n("availableReplicas"),
                    not_true(v)
                ))
            }
        }
        "StatefulSet" => {
            let want = v["spec"]["replicas"].as_u64().unwrap_or(1);
            if observed && n("readyReplicas") >= want && n("updatedReplicas") >= want {
                State::Ready
            } else {
                State::Pending(format!("{} of {want} replicas ready", n("readyReplicas")))
            }
        }
        "DaemonSet" => {
            if observed && n("numberReady") >= n("desiredNumberScheduled") {
                State::Ready
            } else {
                State::Pending(format!(
                    "{} of {} pods ready",
                    n("numberReady"),
                    n("desiredNumberScheduled")
                ))
            }
        }
        "Job" => {
            if let Some(c) = condition(v, "Failed").filter(|c| c["status"] == "True") {
                return State::Failed(format!("the job failed: {}", said(c)));
            }
            if let Some(c) = condition(v, "FailureTarget").filter(|c| c["status"] == "True") {
                return State::Failed(format!("the job is failing: {}", said(c)));
            }
            if is_true(v, "Complete") {
                State::Ready
            } else {
                State::Pending(format!(
                    "{} active, {} succeeded",
                    n("active"),
                    n("succeeded")
                ))
            }
        }
        _ => State::Ready,
    }
}

/// A Helm hook: a Job until it completes, a Pod until it succeeds; anything else at once.
pub fn hook(kind: &str, v: &Value) -> State {
    match kind {
        "Job" => workload(kind, v),
        "Pod" => match v["status"]["phase"].as_str() {
            Some("Succeeded") => State::Ready,
            Some("Failed") => State::Failed(format!("the pod failed: {}", pod_failure(v))),
            other => State::Pending(format!(
                "phase {}{}",
                other.unwrap_or("unknown"),
                waiting(v)
            )),
        },
        _ => State::Ready,
    }
}

/// What a pod's containers wait for, as the kubelet says it (`; container c:
/// ImagePullBackOff: Back-off pulling image "..."`): an image the site's registry does not
/// have shows here, not only as a timeout.
fn waiting(v: &Value) -> String {
    container_statuses(v)
        .filter_map(|c| {
            let waiting = &c["state"]["waiting"];
            let reason = waiting["reason"].as_str()?;
            let message = waiting["message"]
                .as_str()
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            Some(format!(
                "; container {}: {reason}{message}",
                c["name"].as_str().unwrap_or("?")
            ))
        })
        .collect()
}

/// A pod's container statuses as the kubelet lists them, init containers first.
fn container_statuses(v: &Value) -> impl Iterator<Item = &Value> {
    let listed = |key| v["status"][key].as_array().into_iter().flatten();
    listed("initContainerStatuses").chain(listed("containerStatuses"))
}

/// Why a pod failed: its own reason and message where it has them (an eviction, a deadline),
/// else each container that exited non-zero, as the kubelet reported it.
fn pod_failure(v: &Value) -> String {
    let status = &v["status"];
    let own: Vec<&str> = [status["reason"].as_str(), status["message"].as_str()]
        .into_iter()
        .flatten()
        .collect();
    if !own.is_empty() {
        return own.join(": ");
    }
    let exited: Vec<String> = container_statuses(v)
        .filter_map(|c| {
            let ended = &c["state"]["terminated"];
            let code = ended["exitCode"].as_i64().filter(|code| *code != 0)?;
            let reason = ended["reason"]
                .as_str()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            Some(format!(
                "container {} exited {code}{reason}",
                c["name"].as_str().unwrap_or("?")
            ))
        })
        .collect();
    if exited.is_empty() {
        "no reason given".into()
    } else {
        exited.join(", ")
    }
}

/// Kinds `--wait` waits for.
pub fn is_workload(kind: &str) -> bool {
    matches!(kind, "Deployment" | "StatefulSet" | "DaemonSet" | "Job")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pod_hook_is_done_when_its_pod_succeeded() {
        let phase = |p: &str| json!({"status": {"phase": p, "message": "exit 3"}});
        assert!(matches!(hook("Pod", &phase("Succeeded")), State::Ready));
        assert!(matches!(hook("Pod", &phase("Running")), State::Pending(_)));
        assert!(matches!(hook("Pod", &json!({})), State::Pending(_)));
        match hook("Pod", &phase("Failed")) {
            State::Failed(why) => assert!(why.contains("exit 3"), "{why}"),
            other => panic!("{other:?}"),
        }
        // Waiting on an image the registry does not have: said while it waits.
        let pulling = json!({"status": {"phase": "Pending", "containerStatuses": [
            {"name": "c", "state": {"waiting": {"reason": "ImagePullBackOff",
             "message": "Back-off pulling image \"reg.local/app:1\""}}}]}});
        match hook("Pod", &pulling) {
            State::Pending(why) => assert_eq!(
                why,
                "phase Pending; container c: ImagePullBackOff: Back-off pulling image \"reg.local/app:1\""
            ),
            other => panic!("{other:?}"),
        }
        // No message of its own (a container exited non-zero): the containers say why.
        let exited = json!({"status": {"phase": "Failed", "containerStatuses": [
            {"name": "ok", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "migrate", "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}});
        match hook("Pod", &exited) {
            State::Failed(why) => {
                assert_eq!(why, "the pod failed: container migrate exited 2 (Error)")
            }
            other => panic!("{other:?}"),
        }
        // Other kinds of hooks are done once applied.
        assert!(matches!(hook("ConfigMap", &json!({})), State::Ready));
    }

    #[test]
    fn terminal_conditions_fail_at_once() {
        let stuck = json!({"metadata": {"generation": 1}, "spec": {"replicas": 1}, "status": {"observedGeneration": 1,
            "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                            "message": "ReplicaSet \"a-1\" has timed out progressing."}]}});
        assert!(
            matches!(workload("Deployment", &stuck), State::Failed(m) if m.contains("timed out progressing"))
        );
        let failed = json!({"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
            "message": "Job was active longer than specified deadline"}]}});
        assert!(
            matches!(workload("Job", &failed), State::Failed(m) if m.contains("DeadlineExceeded"))
        );
        let clash = json!({"status": {"conditions": [{"type": "NamesAccepted", "status": "False", "reason": "KindConflict",
            "message": "\"RecWidget\" is already in use"}]}});
        assert!(matches!(crd(&clash), State::Failed(m) if m.contains("already in use")));
        assert_eq!(
            workload("Deployment", &json!({"status": {}})),
            State::NoStatus
        );
        let ready = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": {"observedGeneration": 2,
            "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 2}});
        assert_eq!(workload("Deployment", &ready), State::Ready);
    }
}
