//! ABI v1 at load: what a module must export, may export and may import
//! (docs/abi.md), checked before any instance exists.

use wasmtime::{ExternType, FuncType, Module, ValType};

use super::ALLOWED_IMPORT_MODULES;

/// Checks imports and exports against ABI v1 (DESIGN.md).
pub(super) fn check_abi(module: &Module) -> Result<(), String> {
    for import in module.imports() {
        if !ALLOWED_IMPORT_MODULES.contains(&import.module()) {
            return Err(format!(
                "imports \"{}\".\"{}\"; modules may only import from {}",
                import.module(),
                import.name(),
                ALLOWED_IMPORT_MODULES.join(" and ")
            ));
        }
    }
    let func = |params: &[ValType], results: &[ValType]| {
        FuncType::new(
            module.engine(),
            params.iter().cloned(),
            results.iter().cloned(),
        )
    };
    let required = [
        ("portcullis_abi_v1", func(&[], &[])),
        ("portcullis_alloc", func(&[ValType::I32], &[ValType::I32])),
        (
            "portcullis_authorize",
            func(&[ValType::I32, ValType::I32], &[ValType::I64]),
        ),
    ];
    let optional = [
        ("_initialize", func(&[], &[])),
        ("portcullis_reusable", func(&[], &[])),
        ("portcullis_views_v1", func(&[], &[])),
        ("portcullis_response_v1", func(&[], &[])),
        (
            "portcullis_validate_config",
            func(&[ValType::I32, ValType::I32], &[ValType::I64]),
        ),
    ];
    if module.get_export("portcullis_abi_v1").is_none() {
        return Err("no export portcullis_abi_v1: not a Portcullis ABI v1 module".into());
    }
    for (name, expected) in &required {
        match module.get_export(name) {
            None => return Err(format!("missing required export {name}")),
            Some(actual) => check_func(name, &actual, expected)?,
        }
    }
    for (name, expected) in &optional {
        if let Some(actual) = module.get_export(name) {
            check_func(name, &actual, expected)?;
        }
    }
    match module.get_export("memory") {
        Some(ExternType::Memory(memory)) if memory.is_64() => {
            Err("memory is 64-bit; ABI v1 is wasm32".into())
        }
        Some(ExternType::Memory(memory)) if memory.is_shared() => {
            Err("memory is shared; ABI v1 needs a private memory".into())
        }
        Some(ExternType::Memory(_)) => Ok(()),
        _ => Err("missing required export memory".into()),
    }
}

fn check_func(name: &str, actual: &ExternType, expected: &FuncType) -> Result<(), String> {
    match actual {
        ExternType::Func(ty) if FuncType::eq(ty, expected) => Ok(()),
        other => Err(format!(
            "export {name} has type {other:?}, ABI v1 requires {expected}"
        )),
    }
}
