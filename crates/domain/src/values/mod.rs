//! Value types: each has a private field and one fallible constructor, so holding one proves
//! it is valid.

pub(crate) mod email;
pub(crate) mod full_name;
pub(crate) mod ids;
pub(crate) mod role;
pub(crate) mod secrets;
