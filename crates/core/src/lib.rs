//! ferry's primitives: image references and their normalization ([`reference`]), target
//! naming and layouts ([`target`]), digests and the streaming verifier ([`digest`]),
//! manifest and index parsing ([`manifest`]), YAML with exact byte spans ([`yaml`]), the
//! error categories and cause matching every layer uses ([`error`]), words for people
//! ([`text`]), the copy engine's byte reports ([`observe`]), files written whole
//! ([`atomic`]) and scratch directories that clean up after themselves ([`scratch`]). Nothing here touches the
//! network, a process or the cluster.

pub mod atomic;
pub mod digest;
pub mod error;
pub mod manifest;
pub mod observe;
pub mod reference;
pub mod retry;
pub mod scratch;
pub mod target;
pub mod text;
pub mod yaml;
