//! `BusinessError` objects: plain JS `Error`s with a numeric `code` and, for per-bundle
//! callback errors, `data` = the bundle name. Built only on the JS thread.

use napi::bindgen_prelude::*;

use crate::error::BizError;

/// The JS error object for `e`.
pub fn to_js<'e>(env: &'e Env, e: &BizError) -> Result<Object<'e>> {
    let mut obj = env.create_error(napi::Error::from_reason(e.message.clone()))?;
    obj.set_named_property("code", e.code)?;
    if let Some(data) = &e.data {
        obj.set_named_property("data", data.as_str())?;
    }
    Ok(obj)
}

/// A napi error that throws or rejects with exactly the `BusinessError` object.
pub fn to_napi(env: &Env, e: &BizError) -> napi::Error {
    match to_js(env, e) {
        Ok(obj) => napi::Error::from(obj.to_unknown()),
        Err(err) => err,
    }
}

/// Throws synchronously: `Err(throw(env, &e))?`.
pub fn throw(env: &Env, code: i32, detail: impl std::fmt::Display) -> napi::Error {
    to_napi(env, &BizError::with_detail(code, detail))
}
