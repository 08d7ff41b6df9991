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
    service_account_listing(account, namespace, &[secret.to_string()])
}

/// The ServiceAccount fields that list these secrets, in this order.
pub fn service_account_listing(account: &str, namespace: &str, secrets: &[String]) -> Object {
    let list: Vec<serde_json::Value> = secrets
        .iter()
        .map(|s| serde_json::json!({"name": s}))
        .collect();
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": account, "namespace": namespace},
        "imagePullSecrets": list,
    });
    object("ServiceAccount", account, namespace, doc.to_string())
}

/// A ServiceAccount document of the manifests with `secret` added to its own
/// `imagePullSecrets` list (in the list's own style), so that the manifest's field manager
/// keeps owning the whole list: the list is atomic, and a second manager writing it would
/// take it over and make every later apply of the manifest conflict. `None` when the document
/// has no such list (the secret is then added by its own manager) or already names it.
pub fn add_to_account(text: &str, secret: &str) -> Option<String> {
    let docs = ferry_core::yaml::parse_documents(text).ok()?;
    let list = docs.first()?.root.get("imagePullSecrets")?;
    let items = list.as_seq()?;
    if items.iter().any(|i| i.get_str("name") == Some(secret)) {
        return None;
    }
    let Some(first) = items.first() else {
        // `[]`: the flow list is replaced.
        let at = line_offset(text, list.pos())?;
        let close = text[at..].find(']')? + at;
        return Some(format!(
            "{}[{{name: {secret}}}]{}",
            &text[..at],
            &text[close + 1..]
        ));
    };
    let start = line_offset(text, list.pos())?;
    if text[start..].starts_with('[') {
        return Some(format!(
            "{}[{{name: {secret}}}, {}",
            &text[..start],
            &text[start + 1..]
        ));
    }
    // Block list: a new first item, written with the first item's own prefix (`  - `).
    let item = line_offset(text, first.pos())?;
    let line_start = text[..item].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &text[line_start..item];
    let line = match prefix.strip_suffix('{') {
        Some(p) => format!("{p}{{name: {secret}}}\n"),
        None => format!("{prefix}name: {secret}\n"),
    };
    Some(format!(
        "{}{line}{}",
        &text[..line_start],
        &text[line_start..]
    ))
}

/// The byte offset of a 1-based line and column.
pub(crate) fn line_offset(text: &str, pos: ferry_core::yaml::Pos) -> Option<usize> {
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i + 1 == pos.line as usize {
            return line
                .char_indices()
                .nth(pos.column as usize - 1)
                .map(|(b, _)| offset + b);
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_joins_an_accounts_own_list_in_its_style() {
        let block = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: op}\nimagePullSecrets:\n  - name: vendor-pull\n";
        assert_eq!(
            add_to_account(block, "regcred").unwrap(),
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: op}\nimagePullSecrets:\n  - name: regcred\n  - name: vendor-pull\n"
        );
        let flow = "kind: ServiceAccount\nimagePullSecrets: [{name: vendor-pull}]\n";
        assert_eq!(
            add_to_account(flow, "regcred").unwrap(),
            "kind: ServiceAccount\nimagePullSecrets: [{name: regcred}, {name: vendor-pull}]\n"
        );
        let empty = "kind: ServiceAccount\nimagePullSecrets: []\n";
        assert_eq!(
            add_to_account(empty, "regcred").unwrap(),
            "kind: ServiceAccount\nimagePullSecrets: [{name: regcred}]\n"
        );
        assert_eq!(add_to_account("kind: ServiceAccount\n", "regcred"), None);
        assert_eq!(
            add_to_account(&add_to_account(block, "regcred").unwrap(), "regcred"),
            None
        );
    }

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
