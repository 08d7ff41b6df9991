//! Reading and editing what a vendor ships, without a network: inputs (files, directories,
//! stdin, bundles told apart: [`inputs`]), the renderers ferry runs (`helm template`,
//! kustomize: [`render`]), the rules that find every image ([`scan`]) and the byte-range
//! edits that relocate them ([`rewrite`]).

pub mod catalog;
pub mod inputs;
pub mod render;
pub mod rewrite;
pub mod scan;
