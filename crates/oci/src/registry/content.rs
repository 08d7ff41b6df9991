//! The content endpoints of one registry: manifests (get, head, put) and blobs (exists,
//! get, the rest of one from an offset, cross-repository mount, monolithic upload).

use bytes::Bytes;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE,
};
use reqwest::{Method, Response, StatusCode, Url};

use super::{Fetched, MAX_MANIFEST_BYTES, Registry, RegistryError, Scopes};
use ferry_core::digest::Digest;
use ferry_core::manifest::ACCEPT as MANIFEST_TYPES;

impl Registry {
    /// Fetches a manifest by tag or digest, verifying its digest.
    pub async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Fetched, RegistryError> {
        let url = self
            .url(&format!("v2/{repo}/manifests/{reference}"))
            .await?;
        let resp = self
            .send(Method::GET, url.clone(), &Scopes::pull(repo), |r| {
                r.header(ACCEPT, MANIFEST_TYPES.join(", "))
            })
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Err(RegistryError::NotFound {
                host: self.host.clone(),
                what: format!("manifest {repo}:{reference}"),
            });
        }
        if !resp.status().is_success() {
            return Err(self.fail(Method::GET, &url, resp).await);
        }
        let header_digest = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let media_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = super::body::up_to(resp, MAX_MANIFEST_BYTES)
            .await
            .map_err(|e| self.transport_error(&e))?
            .ok_or_else(|| {
                RegistryError::Integrity(format!(
                    "{}/{repo}:{reference}: manifest larger than 4 MiB",
                    self.host
                ))
            })?;
        let digest = Digest::of(&bytes);
        if reference.starts_with("sha256:") && reference != digest.as_str() {
            return Err(RegistryError::Integrity(format!(
                "{}/{repo}@{reference}: manifest bytes hash to {digest}",
                self.host
            )));
        }
        if let Some(h) = header_digest.filter(|h| h.starts_with("sha256:"))
            && h != digest.as_str()
        {
            return Err(RegistryError::Integrity(format!(
                "{}/{repo}:{reference}: registry says {h}, bytes hash to {digest}",
                self.host
            )));
        }
        Ok(Fetched {
            bytes,
            media_type,
            digest,
        })
    }

    /// The digest a tag or digest resolves to, if it exists.
    pub async fn head_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Option<Digest>, RegistryError> {
        let url = self
            .url(&format!("v2/{repo}/manifests/{reference}"))
            .await?;
        let resp = self
            .send(Method::HEAD, url.clone(), &Scopes::pull(repo), |r| {
                r.header(ACCEPT, MANIFEST_TYPES.join(", "))
            })
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                let header = resp
                    .headers()
                    .get("docker-content-digest")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok());
                match header {
                    Some(d) => Ok(Some(d)),
                    // Some registries (and proxies) drop the header: the bytes tell.
                    None => Ok(Some(self.get_manifest(repo, reference).await?.digest)),
                }
            }
            _ => Err(self.fail(Method::HEAD, &url, resp).await),
        }
    }

    /// The referrers the registry lists for `digest` (digest, artifactType), or `None` when
    /// it has no referrers API (Distribution 2.8 answers 404; a registry with the API never
    /// does, so one such answer settles it for the run).
    pub async fn referrers(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Option<Vec<(Digest, String)>>, RegistryError> {
        // Until one answer has told whether the API exists, requests go one at a time.
        let _probe = match self.referrers_api.get() {
            Some(false) => return Ok(None),
            Some(true) => None,
            None => Some(self.referrers_probe.lock().await),
        };
        if self.referrers_api.get() == Some(&false) {
            return Ok(None);
        }
        let url = self.url(&format!("v2/{repo}/referrers/{digest}")).await?;
        let resp = self
            .send(Method::GET, url.clone(), &Scopes::pull(repo), |r| {
                r.header(ACCEPT, ferry_core::manifest::OCI_INDEX)
            })
            .await?;
        let no_api = || {
            let _ = self.referrers_api.set(false);
            Ok(None)
        };
        match resp.status() {
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => no_api(),
            s if s.is_success() => {
                let Ok(Some(bytes)) = super::body::up_to(resp, 4 << 20).await else {
                    // Cut off or unreadable: no list ferry can use, as if there were no API.
                    return Ok(None);
                };
                let Ok(index) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                    // Not an index: not the referrers API (some registries answer HTML).
                    return no_api();
                };
                let _ = self.referrers_api.set(true);
                Ok(Some(
                    index["manifests"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|m| {
                            let d = m["digest"].as_str()?.parse().ok()?;
                            let t = m["artifactType"].as_str().unwrap_or("referrer").to_string();
                            Some((d, t))
                        })
                        .collect(),
                ))
            }
            _ => Err(self.fail(Method::GET, &url, resp).await),
        }
    }

    /// Every tag of `repo` (`GET /v2/<repo>/tags/list`, page by page as `Link: rel="next"`
    /// says), or `None` where the registry does not list them (401, 403, 404, 405: some
    /// registries allow pulls but not listing), so the caller asks tag by tag.
    pub async fn tags(&self, repo: &str) -> Result<Option<Vec<String>>, RegistryError> {
        /// Pages followed at most: 64 of 1000 tags is more than any repository here.
        const MAX_PAGES: usize = 64;
        let first = format!("v2/{repo}/tags/list?n=1000");
        self.list(&first, &Scopes::pull(repo), "tags", MAX_PAGES, 4 << 20)
            .await
    }

    /// The registry's repositories (`GET /v2/_catalog`, page by page), or `None` where it
    /// does not list them (Harbor and most hosted registries refuse: 401, 403, 404, 405).
    pub async fn catalog(&self) -> Result<Option<Vec<String>>, RegistryError> {
        /// Pages followed at most: 100 of 1000 repositories.
        const MAX_PAGES: usize = 100;
        self.list(
            "v2/_catalog?n=1000",
            &Scopes::catalog(),
            "repositories",
            MAX_PAGES,
            16 << 20,
        )
        .await
    }

    /// A paged list (`field` of each page's JSON), following `Link: rel="next"`; `None`
    /// where the registry does not list (or answers something that is not a list).
    async fn list(
        &self,
        first: &str,
        scopes: &Scopes,
        field: &str,
        max_pages: usize,
        max_page_bytes: usize,
    ) -> Result<Option<Vec<String>>, RegistryError> {
        let mut url = self.url(first).await?;
        let mut items = Vec::new();
        for _ in 0..max_pages {
            let resp = self.send(Method::GET, url.clone(), scopes, |r| r).await?;
            match resp.status() {
                StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
                | StatusCode::NOT_FOUND
                | StatusCode::METHOD_NOT_ALLOWED => return Ok(None),
                s if !s.is_success() => return Err(self.fail(Method::GET, &url, resp).await),
                _ => {}
            }
            let next = resp
                .headers()
                .get(reqwest::header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_page)
                .and_then(|n| url.join(n).ok());
            let Ok(Some(bytes)) = super::body::up_to(resp, max_page_bytes).await else {
                return Ok(None);
            };
            let Ok(page) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                return Ok(None);
            };
            match page.get(field) {
                Some(serde_json::Value::Array(a)) => {
                    items.extend(a.iter().filter_map(|v| v.as_str().map(str::to_string)))
                }
                Some(serde_json::Value::Null) | None => {}
                Some(_) => return Ok(None),
            }
            match next {
                Some(n) => url = n,
                None => return Ok(Some(items)),
            }
        }
        Ok(None)
    }

    /// Pushes manifest bytes as they are, by tag or digest.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        bytes: &Bytes,
        media_type: &str,
    ) -> Result<Digest, RegistryError> {
        let url = self
            .url(&format!("v2/{repo}/manifests/{reference}"))
            .await?;
        let resp = self
            .send(Method::PUT, url.clone(), &Scopes::push(repo), |r| {
                r.header(CONTENT_TYPE, media_type).body(bytes.clone())
            })
            .await?;
        if !resp.status().is_success() {
            return Err(self.fail(Method::PUT, &url, resp).await);
        }
        let digest = Digest::of(bytes);
        if let Some(h) = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            && h != digest.as_str()
        {
            return Err(RegistryError::Integrity(format!(
                "{}/{repo}:{reference}: stored as {h}, pushed {digest}",
                self.host
            )));
        }
        Ok(digest)
    }

    /// The size of a blob if the repository has it.
    pub async fn blob_size(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Option<u64>, RegistryError> {
        let url = self.url(&format!("v2/{repo}/blobs/{digest}")).await?;
        let resp = self
            .send(Method::HEAD, url.clone(), &Scopes::pull(repo), |r| r)
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(
                resp.headers()
                    .get(CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            )),
            _ => Err(self.fail(Method::HEAD, &url, resp).await),
        }
    }

    /// Starts streaming a blob; the caller verifies the bytes.
    pub async fn get_blob(&self, repo: &str, digest: &Digest) -> Result<Response, RegistryError> {
        let url = self.url(&format!("v2/{repo}/blobs/{digest}")).await?;
        let resp = self
            .send_open(Method::GET, url.clone(), &Scopes::pull(repo), |r| r)
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Err(RegistryError::NotFound {
                host: self.host.clone(),
                what: format!("blob {digest} in {repo}"),
            }),
            s if s.is_success() => Ok(resp),
            _ => Err(self.fail(Method::GET, &url, resp).await),
        }
    }

    /// The rest of a blob from byte `from` on (`Range: bytes=FROM-`), to resume a body cut
    /// off there, with how many bytes of its body come before `from`: none for that range
    /// (206), `from` for the whole blob (200: a registry, or a proxy before it, that does
    /// not serve ranges). `None` for another range: then the blob is read again from its
    /// start.
    pub async fn get_blob_from(
        &self,
        repo: &str,
        digest: &Digest,
        from: u64,
    ) -> Result<Option<(Response, u64)>, RegistryError> {
        let url = self.url(&format!("v2/{repo}/blobs/{digest}")).await?;
        let resp = self
            .send_open(Method::GET, url.clone(), &Scopes::pull(repo), |r| {
                r.header(RANGE, format!("bytes={from}-"))
            })
            .await?;
        let starts_there = resp
            .headers()
            .get(CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("bytes "))
            .and_then(|v| v.split_once('-'))
            .is_some_and(|(start, _)| start.trim() == from.to_string());
        match resp.status() {
            StatusCode::PARTIAL_CONTENT if starts_there => Ok(Some((resp, 0))),
            StatusCode::OK => Ok(Some((resp, from))),
            s if s.is_success() => Ok(None),
            StatusCode::NOT_FOUND => Err(RegistryError::NotFound {
                host: self.host.clone(),
                what: format!("blob {digest} in {repo}"),
            }),
            _ => Err(self.fail(Method::GET, &url, resp).await),
        }
    }

    fn location(&self, url: &Url, resp: &Response) -> Result<Url, RegistryError> {
        let loc = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Transport {
                host: self.host.clone(),
                retried: true,
                message: format!("POST {}: no Location for the upload", url.path()),
            })?;
        url.join(loc).map_err(|e| RegistryError::Transport {
            host: self.host.clone(),
            retried: true,
            message: format!("bad upload Location {loc:?}: {e}"),
        })
    }

    /// Mounts a blob from another repository of this registry. False (after cancelling any
    /// upload session opened instead) when the registry would not mount it.
    pub async fn mount_blob(
        &self,
        repo: &str,
        from: &str,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        let mut url = self.url(&format!("v2/{repo}/blobs/uploads/")).await?;
        url.query_pairs_mut()
            .append_pair("mount", digest.as_str())
            .append_pair("from", from);
        let resp = match self
            .send(Method::POST, url.clone(), &Scopes::mount(repo, from), |r| r)
            .await
        {
            Ok(r) => r,
            Err(RegistryError::Unauthorized { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        match resp.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                if let Ok(loc) = self.location(&url, &resp) {
                    let _ = self
                        .send(Method::DELETE, loc, &Scopes::push(repo), |r| r)
                        .await;
                }
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    /// Uploads a blob from a stream in one PUT (POST for a session, then PUT with the digest).
    /// Not retried here: the body can be read only once; callers retry the whole transfer.
    pub async fn push_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        body: reqwest::Body,
    ) -> Result<(), RegistryError> {
        let scopes = Scopes::push(repo);
        let url = self.url(&format!("v2/{repo}/blobs/uploads/")).await?;
        let resp = self
            .send(Method::POST, url.clone(), &scopes, |r| {
                r.header(CONTENT_LENGTH, 0)
            })
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.fail(Method::POST, &url, resp).await);
        }
        let mut put = self.location(&url, &resp)?;
        put.query_pairs_mut().append_pair("digest", digest.as_str());
        // An upload location on another host (a storage backend) gets no credentials, as
        // go-containerregistry does: they are the registry's, not that host's.
        let same_host = put.host_str() == url.host_str() && put.port() == url.port();
        let auth = if same_host {
            self.authorization(&scopes).await?
        } else {
            None
        };
        let mut req = self
            .upload_client
            .put(put.clone())
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, size)
            .body(body);
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a);
        }
        let started = std::time::Instant::now();
        let sent = req.send().await;
        super::trace(&Method::PUT, &put, started, &sent);
        let resp = sent.map_err(|e| self.transport_error(&e))?;
        if resp.status() != StatusCode::CREATED {
            // The PUT is not retried here (its body streams once): the caller retries it whole.
            return Err(
                match self.fail(Method::PUT, &put, resp).await.retried(false) {
                    // The registry hashed what arrived and it was not the blob.
                    RegistryError::Status { detail, .. } if detail.has("DIGEST_INVALID") => {
                        RegistryError::Integrity(format!(
                            "{}/{repo}: upload of {digest} rejected{detail}",
                            self.host
                        ))
                    }
                    other => other,
                },
            );
        }
        Ok(())
    }
}

/// The target of a `Link: <...>; rel="next"` header.
fn next_page(link: &str) -> Option<&str> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"))
            .then(|| target.trim().trim_start_matches('<').trim_end_matches('>'))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_next_page_is_read_from_link() {
        let link = r#"</v2/app/tags/list?last=b&n=2>; rel="next""#;
        assert_eq!(super::next_page(link), Some("/v2/app/tags/list?last=b&n=2"));
        assert_eq!(super::next_page(r#"</x>; rel="prev""#), None);
    }
}
