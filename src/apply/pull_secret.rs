//! The image pull secret: a `kubernetes.io/dockerconfigjson` Secret for the private registry
//! in every namespace the manifests use, listed in `imagePullSecrets` of each namespace's
//! `default` ServiceAccount and of the ServiceAccounts the manifests create, so pods the
//! operator starts later can pull too.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::plan::Object;

/// Field manager of the ServiceAccount additions: separate from `ferry`, so applying the
/// manifests' own ServiceAccounts again does not take the secret away.
pub const SA_MANAGER: &str = "ferry-pull-secret";

fn object(kind: &str, name: &str, namespace: &str, yaml: String) -> Object {
    Object {
        api_version: "v1".into(),
        kind: kind.into(),
        name: name.into(),
        namespace: Some(namespace.into()),
        file: "(--pull-secret)".into(),
        line: 0,
        document: 0,
        yaml,
    }
}

/// The Secret in `namespace`. JSON is valid YAML; the payload is base64, as `data` requires.
pub fn secret(name: &str, namespace: &str, host: &str, username: &str, password: &str) -> Object {
    let auth = BASE64.encode(format!("{username}:{password}"));
    let config = serde_json::json!({"auths": {host: {"username": username, "password": password, "auth": auth}}});
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": BASE64.encode(config.to_string())},
    });
    object("Secret", name, namespace, doc.to_string())
}

/// The ServiceAccount fields that list the secret.
pub fn service_account(account: &str, namespace: &str, secret: &str) -> Object {
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": account, "namespace": namespace},
        "imagePullSecrets": [{"name": secret}],
    });
    object("ServiceAccount", account, namespace, doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_holds_a_docker_config_for_the_host() {
        let s = secret("regcred", "shop", "reg.local:5000", "robot", "pw");
        let v: serde_json::Value = serde_json::from_str(&s.yaml).unwrap();
        assert_eq!(v["type"], "kubernetes.io/dockerconfigjson");
        let inner = BASE64
            .decode(v["data"][".dockerconfigjson"].as_str().unwrap())
            .unwrap();
        let cfg: serde_json::Value = serde_json::from_slice(&inner).unwrap();
        assert_eq!(
            cfg["auths"]["reg.local:5000"]["auth"],
            BASE64.encode("robot:pw")
        );
    }
}
