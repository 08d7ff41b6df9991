//! Where `login` puts credentials and `logout` takes them away, as `docker login` and
//! `docker logout` do: the credential helper the config names for the host (`credHelpers`,
//! else `credsStore`), else the file's own `auths`. The file is written atomically, mode
//! 0600, through a link, everything else in it kept.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::config::{ConfigError, Helper, read_json};

/// The `auths` key docker uses for a host (Docker Hub's is its v1 URL).
fn key_for(host: &str) -> String {
    if ferry_core::reference::is_docker_hub(host) {
        "https://index.docker.io/v1/".to_string()
    } else {
        host.to_string()
    }
}

/// The credential helper the config names for `host`.
fn helper_for(config: &Map<String, Value>, host: &str, key: &str) -> Option<String> {
    config
        .get("credHelpers")
        .and_then(|h| h.get(host).or_else(|| h.get(key)))
        .or_else(|| config.get("credsStore"))
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty())
        .map(str::to_string)
}

/// Where `store_credentials` put the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// In the file's `auths`.
    File,
    /// In `docker-credential-HELPER` (the file's `credHelpers` entry or `credsStore`).
    Helper(String),
}

/// Stores Basic credentials for `host` as `docker login` does: with the credential helper
/// the file names for the host (`credHelpers`, else `credsStore`), with an empty `auths`
/// entry left in the file as docker leaves it; else in `auths` itself. Everything else in the
/// file is kept; it is written atomically with mode 0600.
pub fn store_credentials(
    file: &Path,
    host: &str,
    username: &str,
    password: &str,
) -> Result<Stored, ConfigError> {
    let fail = |message: String| ConfigError::File {
        file: file.display().to_string(),
        message,
    };
    let mut config = read_json(file)?.unwrap_or_default();
    let key = key_for(host);
    let helper = helper_for(&config, host, &key);
    let entry = match &helper {
        Some(h) => {
            store_in_helper(h, &key, username, password)?;
            serde_json::json!({})
        }
        None => serde_json::json!({"auth": BASE64.encode(format!("{username}:{password}"))}),
    };
    let auths = config
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| fail("`auths` is not an object".into()))?;
    auths.insert(key, entry);
    write_config(file, config)?;
    Ok(helper.map_or(Stored::File, Stored::Helper))
}

/// `docker-credential-HELPER store`, `{"ServerURL","Username","Secret"}` on stdin.
fn store_in_helper(
    helper: &str,
    server: &str,
    username: &str,
    password: &str,
) -> Result<(), ConfigError> {
    let h = Helper {
        name: helper,
        host: server,
    };
    let payload =
        serde_json::json!({"ServerURL": server, "Username": username, "Secret": password});
    let out = h.call("store", payload.to_string().as_bytes())?;
    if !out.status.success() {
        return Err(h.refused(&out));
    }
    Ok(())
}

/// Writes the config atomically (mode 0600), through a link.
fn write_config(file: &Path, config: Map<String, Value>) -> Result<(), ConfigError> {
    let fail = |message: String| ConfigError::File {
        file: file.display().to_string(),
        message,
    };
    let text =
        serde_json::to_string_pretty(&Value::Object(config)).map_err(|e| fail(e.to_string()))?;
    // A linked config (dotfiles managers link it) is written through its link.
    let resolved = file.canonicalize().ok();
    let file = resolved.as_deref().unwrap_or(file);
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A directory made here is private, as docker makes ~/.docker: whatever the umask.
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| fail(e.to_string()))?;
    }
    ferry_core::atomic::write_private(file, text.as_bytes()).map_err(|e| fail(e.to_string()))
}

/// What `remove_credentials` found to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// Nothing was stored for the host.
    Nothing,
    /// The file's `auths` entry (and the helper's, when one holds them).
    Stored { helper: Option<String> },
}

/// Removes the credentials stored for `host`, as `docker logout` does: from the helper the
/// config names for it, and its `auths` entry from the file.
pub fn remove_credentials(file: &Path, host: &str) -> Result<Removed, ConfigError> {
    let fail = |message: String| ConfigError::File {
        file: file.display().to_string(),
        message,
    };
    let Some(mut config) = read_json(file)? else {
        return Ok(Removed::Nothing);
    };
    let key = key_for(host);
    let helper = helper_for(&config, host, &key);
    let in_helper = match &helper {
        Some(h) => erase_in_helper(h, &key)?,
        None => false,
    };
    let in_file = config
        .get_mut("auths")
        .map(|a| {
            a.as_object_mut()
                .ok_or_else(|| fail("`auths` is not an object".into()))
                .map(|a| a.remove(&key).is_some())
        })
        .transpose()?
        .unwrap_or(false);
    if in_file {
        write_config(file, config)?;
    }
    Ok(if in_file || in_helper {
        Removed::Stored { helper }
    } else {
        Removed::Nothing
    })
}

/// `docker-credential-HELPER erase`, the server on stdin; false when it held nothing.
fn erase_in_helper(helper: &str, server: &str) -> Result<bool, ConfigError> {
    let h = Helper {
        name: helper,
        host: server,
    };
    let out = h.call("erase", server.as_bytes())?;
    match out.status.success() {
        true => Ok(true),
        false if Helper::holds_nothing(&out) => Ok(false),
        false => Err(h.refused(&out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Credentials;
    use crate::registry::config::credentials_for;

    fn temp(name: &str) -> ferry_core::scratch::ScratchDir {
        ferry_core::scratch::ScratchDir::for_test(&format!("credstore-{name}"))
    }

    #[test]
    fn store_keeps_other_entries_and_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = temp("store");
        let f = d.join("sub/config.json");
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(
            &f,
            r#"{"auths": {"keep.example.com": {"auth": "eDp5"}}, "credsStore": ""}"#,
        )
        .unwrap();
        store_credentials(&f, "127.0.0.1:5001", "alice", "pw").unwrap();
        let files = vec![f.clone()];
        assert_eq!(
            credentials_for("127.0.0.1:5001", &files).unwrap(),
            Credentials::Basic {
                username: "alice".into(),
                password: "pw".into()
            }
        );
        assert!(matches!(
            credentials_for("keep.example.com", &files).unwrap(),
            Credentials::Basic { .. }
        ));
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    /// A missing config directory (DOCKER_CONFIG) is made private, not with the umask's
    /// mode: the file in it holds credentials.
    #[test]
    fn a_directory_made_for_credentials_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = temp("private-dir");
        let dir = d.join("new/docker");
        store_credentials(&dir.join("config.json"), "127.0.0.1:5001", "alice", "pw").unwrap();
        for made in [&dir, &d.join("new")] {
            assert_eq!(
                std::fs::metadata(made).unwrap().permissions().mode() & 0o777,
                0o700,
                "{}",
                made.display()
            );
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn logout_removes_only_that_host() {
        let d = temp("logout");
        let f = d.join("config.json");
        std::fs::write(
            &f,
            r#"{"auths": {"keep.example.com": {"auth": "eDp5"}, "gone.example.com": {"auth": "eDp5"}}}"#,
        )
        .unwrap();
        assert_eq!(
            remove_credentials(&f, "gone.example.com").unwrap(),
            Removed::Stored { helper: None }
        );
        let files = vec![f.clone()];
        assert_eq!(
            credentials_for("gone.example.com", &files).unwrap(),
            Credentials::Anonymous
        );
        assert!(matches!(
            credentials_for("keep.example.com", &files).unwrap(),
            Credentials::Basic { .. }
        ));
        assert_eq!(
            remove_credentials(&f, "gone.example.com").unwrap(),
            Removed::Nothing
        );
        assert_eq!(
            remove_credentials(&d.join("none.json"), "x.io").unwrap(),
            Removed::Nothing
        );
    }
}
