//! Argument checking on raw JS values, so that bad arguments throw the documented numeric
//! code synchronously instead of napi-rs's string-coded conversion errors.

use napi::bindgen_prelude::*;
use napi::ValueType;

use super::js_error::throw;

pub fn type_of(v: &Unknown) -> ValueType {
    v.get_type().unwrap_or(ValueType::Unknown)
}

pub fn is_function(v: &Unknown) -> bool {
    type_of(v) == ValueType::Function
}

pub fn is_nullish(v: &Unknown) -> bool {
    matches!(type_of(v), ValueType::Undefined | ValueType::Null)
}

pub fn is_array(v: &Unknown) -> bool {
    type_of(v) == ValueType::Object && unsafe { v.cast::<Object>() }.and_then(|o| o.is_array()).unwrap_or(false)
}

pub fn as_string(v: &Unknown) -> Option<String> {
    (type_of(v) == ValueType::String).then(|| unsafe { v.cast::<String>() }.ok()).flatten()
}

pub fn as_number(v: &Unknown) -> Option<f64> {
    (type_of(v) == ValueType::Number).then(|| unsafe { v.cast::<f64>() }.ok()).flatten()
}

pub fn as_bool(v: &Unknown) -> Option<bool> {
    (type_of(v) == ValueType::Boolean).then(|| unsafe { v.cast::<bool>() }.ok()).flatten()
}

pub fn as_object<'e>(v: &Unknown<'e>) -> Option<Object<'e>> {
    (type_of(v) == ValueType::Object).then(|| unsafe { v.cast::<Object>() }.ok()).flatten()
}

pub fn as_array<'e>(v: &Unknown<'e>) -> Option<Vec<Unknown<'e>>> {
    if !is_array(v) {
        return None;
    }
    let obj = unsafe { v.cast::<Object>() }.ok()?;
    let len = obj.get_array_length().ok()?;
    (0..len).map(|i| obj.get_element::<Unknown>(i).ok()).collect()
}

pub fn prop<'e>(obj: &Object<'e>, name: &str) -> Option<Unknown<'e>> {
    obj.get_named_property::<Unknown>(name).ok().filter(|v| !is_nullish(v))
}

/// An int32 value (a JS number with no fraction in int32 range).
pub fn as_i32(v: &Unknown) -> Option<i32> {
    as_number(v).filter(|n| n.fract() == 0.0 && *n >= i32::MIN as f64 && *n <= i32::MAX as f64).map(|n| n as i32)
}

/// Exactly `n` arguments, else the method's documented code.
pub fn expect_count(env: &Env, args: &[Unknown], range: std::ops::RangeInclusive<usize>, code: i32, what: &str) -> Result<()> {
    if range.contains(&args.len()) {
        Ok(())
    } else if range.start() == range.end() {
        Err(throw(env, code, format!("{what} takes {} argument(s), got {}", range.start(), args.len())))
    } else {
        Err(throw(env, code, format!("{what} takes {} to {} arguments, got {}", range.start(), range.end(), args.len())))
    }
}

/// A string array (every element a string).
pub fn string_array(v: &Unknown) -> Option<Vec<String>> {
    as_array(v)?.iter().map(as_string).collect()
}
