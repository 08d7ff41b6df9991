//! Credentials from docker-style config files: `--registry-config`, `$REGISTRY_AUTH_FILE`,
//! `$DOCKER_CONFIG/config.json`, `~/.docker/config.json`; `auths` (auth, username/password,
//! identitytoken), `credHelpers` and `credsStore` (via `docker-credential-*`). `login` writes
//! the same format.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::auth::Credentials;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("credential helper docker-credential-{helper} for {host}: {message}")]
    Helper {
        helper: String,
        host: String,
        message: String,
    },
}

/// The config files to read, in order; the first that names a host decides its credentials.
pub fn config_files(explicit: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.to_path_buf()];
    }
    // The order containers-auth.json(5) gives, so `podman login` / `skopeo login` work too.
    let mut files = Vec::new();
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    match std::env::var_os("REGISTRY_AUTH_FILE") {
        Some(p) => files.push(PathBuf::from(p)),
        None => files.extend(
            std::env::var_os("XDG_RUNTIME_DIR")
                .map(|d| PathBuf::from(d).join("containers/auth.json")),
        ),
    }
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".config"));
    files.push(config_home.join("containers/auth.json"));
    files.push(default_docker_config());
    files
}

/// Where `docker login` writes: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
pub fn default_docker_config() -> PathBuf {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => PathBuf::from(dir).join("config.json"),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".docker/config.json"),
    }
}

/// Keys under which a host may be stored: `host`, `https://host`, `http://host`, and for
/// Docker Hub the legacy `https://index.docker.io/v1/`.
fn keys_for(host: &str) -> Vec<String> {
    let mut keys = vec![
        host.to_string(),
        format!("https://{host}"),
        format!("http://{host}"),
    ];
    if ferry_core::reference::is_docker_hub(host) {
        keys.extend([
            "https://index.docker.io/v1/".into(),
            ferry_core::reference::DOCKER_HUB_LEGACY.into(),
            ferry_core::reference::DOCKER_HUB.into(),
        ]);
    }
    keys
}

pub(super) fn read_json(path: &Path) -> Result<Option<Map<String, Value>>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConfigError::File {
                file: path.display().to_string(),
                message: e.to_string(),
            });
        }
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(_) => Err(ConfigError::File {
            file: path.display().to_string(),
            message: "not a JSON object".into(),
        }),
        Err(e) => Err(ConfigError::File {
            file: path.display().to_string(),
            message: e.to_string(),
        }),
    }
}

/// Credentials for `host` from the config files (anonymous when none names it).
pub fn credentials_for(host: &str, files: &[PathBuf]) -> Result<Credentials, ConfigError> {
    Ok(credentials_and_file(host, files)?.0)
}

/// As [`credentials_for`], with the file that gave them (to name it when they are refused).
pub fn credentials_and_file(
    host: &str,
    files: &[PathBuf],
) -> Result<(Credentials, Option<PathBuf>), ConfigError> {
    for file in files {
        let Some(config) = read_json(file)? else {
            continue;
        };
        if let Some(c) = from_config(host, &config, file)? {
            return Ok((c, Some(file.clone())));
        }
    }
    Ok((Credentials::Anonymous, None))
}

fn from_config(
    host: &str,
    config: &Map<String, Value>,
    file: &Path,
) -> Result<Option<Credentials>, ConfigError> {
    let keys = keys_for(host);
    if let Some(helper) = config
        .get("credHelpers")
        .and_then(Value::as_object)
        .and_then(|h| keys.iter().find_map(|k| h.get(k)))
        .and_then(Value::as_str)
    {
        return run_helper(helper, host);
    }
    if let Some(entry) = config
        .get("auths")
        .and_then(Value::as_object)
        .and_then(|a| keys.iter().find_map(|k| a.get(k)))
    {
        let bad = |message: &str| ConfigError::File {
            file: file.display().to_string(),
            message: format!("auths entry for {host}: {message}"),
        };
        if let Some(token) = entry
            .get("identitytoken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            return Ok(Some(Credentials::IdentityToken(token.to_string())));
        }
        if let Some(auth) = entry
            .get("auth")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
        {
            let decoded = BASE64
                .decode(auth)
                .map_err(|_| bad("`auth` is not base64"))?;
            let decoded = String::from_utf8(decoded).map_err(|_| bad("`auth` is not UTF-8"))?;
            let (username, password) = decoded
                .split_once(':')
                .ok_or_else(|| bad("`auth` is not user:password"))?;
            return Ok(Some(Credentials::Basic {
                username: username.to_string(),
                password: password.to_string(),
            }));
        }
        if let (Some(u), Some(p)) = (
            entry.get("username").and_then(Value::as_str),
            entry.get("password").and_then(Value::as_str),
        ) {
            return Ok(Some(Credentials::Basic {
                username: u.to_string(),
                password: p.to_string(),
            }));
        }
    }
    if let Some(store) = config
        .get("credsStore")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        // A store that does not know the host means no credentials, as docker treats it.
        return run_helper(store, host);
    }
    Ok(None)
}

/// A credential helper (`docker-credential-NAME`) asked about one host.
pub(super) struct Helper<'a> {
    pub name: &'a str,
    pub host: &'a str,
}

impl Helper<'_> {
    pub(super) fn error(&self, message: String) -> ConfigError {
        ConfigError::Helper {
            helper: self.name.to_string(),
            host: self.host.to_string(),
            message,
        }
    }

    /// Runs `docker-credential-NAME VERB` with `input` on stdin and waits for it.
    pub(super) fn call(
        &self,
        verb: &str,
        input: &[u8],
    ) -> Result<std::process::Output, ConfigError> {
        let mut child = Command::new(format!("docker-credential-{}", self.name))
            .arg(verb)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.error(e.to_string()))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(input)
                .map_err(|e| self.error(e.to_string()))?;
        }
        child
            .wait_with_output()
            .map_err(|e| self.error(e.to_string()))
    }

    /// A failed call, in the helper's own words (the helpers write them on stdout).
    /// Whether the helper answered that it holds nothing for the host: the protocol's own
    /// message, compared whole as docker's client compares it (`credentials not found in
    /// native keychain`, docker-credential-helpers' `ErrCredentialsNotFound`).
    pub(super) fn holds_nothing(out: &std::process::Output) -> bool {
        const NOT_FOUND: &str = "credentials not found in native keychain";
        !out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == NOT_FOUND
    }

    pub(super) fn refused(&self, out: &std::process::Output) -> ConfigError {
        let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
        self.error(if said.is_empty() {
            "failed".into()
        } else {
            said
        })
    }
}

/// `docker-credential-HELPER get`, host on stdin, `{"Username","Secret"}` on stdout; `None`
/// when the helper holds nothing for the host.
fn run_helper(helper: &str, host: &str) -> Result<Option<Credentials>, ConfigError> {
    let h = Helper { name: helper, host };
    let err = |message: String| h.error(message);
    let out = h.call("get", host.as_bytes())?;
    if Helper::holds_nothing(&out) {
        return Ok(None);
    }
    if !out.status.success() {
        return Err(h.refused(&out));
    }
    let v: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| err(format!("bad output: {e}")))?;
    let user = v
        .get("Username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let secret = v
        .get("Secret")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok(Some(if user == "<token>" {
        Credentials::IdentityToken(secret)
    } else {
        Credentials::Basic {
            username: user.to_string(),
            password: secret,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> ferry_core::scratch::ScratchDir {
        ferry_core::scratch::ScratchDir::for_test(&format!("config-{name}"))
    }

    #[test]
    fn reads_auth_username_password_and_identity_token() {
        let d = temp("read");
        let f = d.join("config.json");
        std::fs::write(
            &f,
            format!(
                r#"{{"auths": {{
                  "reg.example.com": {{"auth": "{}"}},
                  "https://other.example.com": {{"username": "bob", "password": "pw"}},
                  "tok.example.com": {{"identitytoken": "refresh"}},
                  "https://index.docker.io/v1/": {{"auth": "{}"}}
                }}}}"#,
                BASE64.encode("alice:s3:cret"),
                BASE64.encode("hub:hubpw")
            ),
        )
        .unwrap();
        let files = vec![f];
        assert_eq!(
            credentials_for("reg.example.com", &files).unwrap(),
            Credentials::Basic {
                username: "alice".into(),
                password: "s3:cret".into()
            }
        );
        assert!(
            matches!(credentials_for("other.example.com", &files).unwrap(), Credentials::Basic { username, .. } if username == "bob")
        );
        assert_eq!(
            credentials_for("tok.example.com", &files).unwrap(),
            Credentials::IdentityToken("refresh".into())
        );
        assert!(
            matches!(credentials_for("docker.io", &files).unwrap(), Credentials::Basic { username, .. } if username == "hub")
        );
        assert_eq!(
            credentials_for("nobody.example.com", &files).unwrap(),
            Credentials::Anonymous
        );
    }

    #[test]
    fn malformed_config_names_the_file() {
        let d = temp("bad");
        let f = d.join("config.json");
        std::fs::write(&f, "{not json").unwrap();
        let err = credentials_for("x.io", &[f]).unwrap_err().to_string();
        assert!(err.contains("config.json"), "{err}");
    }
}
