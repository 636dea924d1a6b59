//! Visualization plugins: folders under `<data dir>/plugins/<id>/` holding a `plugin.json`
//! manifest and one ES module. Admins add one by uploading a zip (or by dropping the folder
//! there); everyone sees the installed ones in the chart picker. A plugin with a bad manifest
//! or a missing module is listed with its error and cannot be chosen; nothing else breaks.
//! The module runs in the browser in a sandboxed frame (see `frontend/charts/charts.js`).
use crate::{
    error::AppError,
    model::{
        chart::{role, ChartSpec, ColumnRole, PluginColumnType, PluginInfo, PluginManifest},
        query::Column,
        Permission,
    },
    server::{AppState, Principal},
};
use std::{
    io::Read,
    path::{Path, PathBuf},
};

/// The largest plugin zip accepted, and the most its files may unpack to.
pub const MAX_ZIP_BYTES: usize = 5 << 20;
const MAX_UNPACKED_BYTES: u64 = 20 << 20;
const MAX_FILES: usize = 200;

pub fn dir(state: &AppState) -> PathBuf {
    state.settings.data_dir.join("plugins")
}

/// Plugin ids and file names: letters, digits, `-`, `_` and `.` (no path, no leading dot).
fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Reads one plugin folder: its manifest checked, its module present.
pub fn read(folder: &Path) -> PluginInfo {
    let folder_name = folder
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let broken = |error: String| PluginInfo {
        manifest: PluginManifest {
            id: folder_name.clone(),
            name: folder_name.clone(),
            ..Default::default()
        },
        error: Some(error),
    };
    let text = match std::fs::read_to_string(folder.join("plugin.json")) {
        Ok(t) => t,
        Err(_) => return broken("plugin.json is missing or unreadable.".into()),
    };
    let manifest: PluginManifest = match serde_json::from_str(&text) {
        Ok(m) => m,
        Err(e) => return broken(format!("plugin.json is not a valid manifest: {e}.")),
    };
    if let Err(e) = manifest.check() {
        return PluginInfo {
            manifest,
            error: Some(e),
        };
    }
    if manifest.id != folder_name {
        let e = format!(
            "The manifest's id “{}” differs from its folder “{folder_name}”.",
            manifest.id
        );
        return PluginInfo {
            manifest,
            error: Some(e),
        };
    }
    if !folder.join(&manifest.module).is_file() {
        let e = format!("Its module “{}” is missing.", manifest.module);
        return PluginInfo {
            manifest,
            error: Some(e),
        };
    }
    PluginInfo {
        manifest,
        error: None,
    }
}

/// Every installed plugin, by name.
pub async fn list(state: &AppState, me: &Principal) -> Result<Vec<PluginInfo>, AppError> {
    me.require(Permission::ViewInsights)?;
    Ok(scan(&dir(state)))
}

pub fn scan(root: &Path) -> Vec<PluginInfo> {
    let mut out: Vec<PluginInfo> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter(|e| safe_name(&e.file_name().to_string_lossy()))
        .map(|e| read(&e.path()))
        .collect();
    out.sort_by_key(|p| p.manifest.name.to_lowercase());
    out
}

/// One installed, working plugin.
pub fn find(state: &AppState, id: &str) -> Result<PluginInfo, AppError> {
    if !safe_name(id) {
        return Err(AppError::NotFound("That chart plugin".into()));
    }
    let folder = dir(state).join(id);
    if !folder.is_dir() {
        return Err(AppError::NotFound("That chart plugin".into()));
    }
    Ok(read(&folder))
}

/// The module's text, for `GET /plugins/<id>/module.js` (signed-in users).
pub async fn module(state: &AppState, me: &Principal, id: &str) -> Result<Vec<u8>, AppError> {
    me.require(Permission::ViewInsights)?;
    let p = find(state, id)?;
    if let Some(e) = p.error {
        return Err(AppError::Conflict(e));
    }
    tokio::fs::read(dir(state).join(id).join(&p.manifest.module))
        .await
        .map_err(|_| AppError::NotFound("The plugin's module".into()))
}

/// Installs (or replaces) a plugin from a zip holding `plugin.json` and its module, at the
/// top or inside one folder. Admins only.
pub async fn install(
    state: &AppState,
    me: &Principal,
    zip: Vec<u8>,
) -> Result<PluginInfo, AppError> {
    me.require(Permission::ManageUsers)?;
    if zip.len() > MAX_ZIP_BYTES {
        return Err(AppError::field(
            "plugin",
            format!("A plugin zip may be at most {} MB.", MAX_ZIP_BYTES >> 20),
        ));
    }
    let root = dir(state);
    tokio::task::spawn_blocking(move || unpack(&root, &zip))
        .await
        .map_err(crate::error::internal)?
}

fn unpack(root: &Path, zip: &[u8]) -> Result<PluginInfo, AppError> {
    let bad = |m: String| AppError::field("plugin", m);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip))
        .map_err(|_| bad("That file is not a zip archive.".into()))?;
    if archive.len() > MAX_FILES {
        return Err(bad(format!("A plugin may hold at most {MAX_FILES} files.")));
    }
    // Files by their name inside the plugin (a single top folder is dropped).
    let mut files: Vec<(String, Vec<u8>)> = vec![];
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut f = archive
            .by_index(i)
            .map_err(|_| bad("The zip is damaged.".into()))?;
        if f.is_dir() {
            continue;
        }
        let name = f
            .name()
            .map_err(|_| bad("The zip holds a file name that is not UTF-8.".into()))?
            .replace('\\', "/");
        let mut data = vec![];
        (&mut f)
            .take(MAX_UNPACKED_BYTES - total + 1)
            .read_to_end(&mut data)
            .map_err(|_| bad("The zip is damaged.".into()))?;
        total += data.len() as u64;
        if total > MAX_UNPACKED_BYTES {
            return Err(bad(format!(
                "The plugin unpacks to more than {} MB.",
                MAX_UNPACKED_BYTES >> 20
            )));
        }
        files.push((name, data));
    }
    let prefix = files
        .iter()
        .find(|(n, _)| n == "plugin.json" || n.ends_with("/plugin.json"))
        .map(|(n, _)| n.trim_end_matches("plugin.json").to_string())
        .ok_or_else(|| bad("The zip holds no plugin.json.".into()))?;
    let mut kept = vec![];
    for (name, data) in files {
        let Some(rel) = name.strip_prefix(&prefix) else {
            continue;
        };
        if rel.split('/').any(|part| !safe_name(part)) {
            return Err(bad(format!(
                "“{name}” is not a plain file name (letters, digits, - _ . and folders only)."
            )));
        }
        kept.push((rel.to_string(), data));
    }
    let manifest_text = kept
        .iter()
        .find(|(n, _)| n == "plugin.json")
        .map(|(_, d)| d.clone())
        .unwrap_or_default();
    let manifest: PluginManifest = serde_json::from_slice(&manifest_text)
        .map_err(|e| bad(format!("plugin.json is not a valid manifest: {e}.")))?;
    manifest.check().map_err(bad)?;
    if !kept.iter().any(|(n, _)| *n == manifest.module) {
        return Err(bad(format!(
            "The zip holds no “{}”, the module its manifest names.",
            manifest.module
        )));
    }
    // Unpacked beside, then swapped in: a failed install leaves the old version working.
    std::fs::create_dir_all(root).map_err(crate::error::internal)?;
    let staging = root.join(format!(".incoming-{}", manifest.id));
    let _ = std::fs::remove_dir_all(&staging);
    for (rel, data) in &kept {
        let path = staging.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(crate::error::internal)?;
        }
        std::fs::write(&path, data).map_err(crate::error::internal)?;
    }
    let target = root.join(&manifest.id);
    let old = root.join(format!(".old-{}", manifest.id));
    let _ = std::fs::remove_dir_all(&old);
    if target.exists() {
        std::fs::rename(&target, &old).map_err(crate::error::internal)?;
    }
    std::fs::rename(&staging, &target).map_err(crate::error::internal)?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(read(&target))
}

/// Removes an installed plugin. Admins only.
pub async fn remove(state: &AppState, me: &Principal, id: &str) -> Result<(), AppError> {
    me.require(Permission::ManageUsers)?;
    if !safe_name(id) {
        return Err(AppError::NotFound("That chart plugin".into()));
    }
    let folder = dir(state).join(id);
    if !folder.is_dir() {
        return Err(AppError::NotFound("That chart plugin".into()));
    }
    tokio::fs::remove_dir_all(folder)
        .await
        .map_err(crate::error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut out = std::io::Cursor::new(vec![]);
        {
            let mut z = zip::ZipWriter::new(&mut out);
            for (name, body) in files {
                z.start_file(*name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                z.write_all(body.as_bytes()).unwrap();
            }
            z.finish().unwrap();
        }
        out.into_inner()
    }

    const MANIFEST: &str = r#"{"id":"funnel","name":"Funnel","version":"1.0.0","module":"funnel.js",
        "columns":[{"name":"stage","types":["text"]},{"name":"value","types":["number"]}]}"#;

    #[test]
    fn a_zip_installs_and_a_bad_one_says_why() {
        let root = std::env::temp_dir().join(format!("sl-plugins-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let ok = unpack(
            &root,
            &zip_of(&[
                ("funnel/plugin.json", MANIFEST),
                ("funnel/funnel.js", "export function render() {}"),
            ]),
        )
        .unwrap();
        assert_eq!(ok.error, None);
        assert!(root.join("funnel/funnel.js").is_file());
        assert_eq!(scan(&root).len(), 1);

        let err = |files: &[(&str, &str)]| match unpack(&root, &zip_of(files)) {
            Err(e) => e.field_message("plugin").unwrap_or_default(),
            Ok(_) => String::new(),
        };
        assert!(err(&[("plugin.json", MANIFEST)]).contains("no “funnel.js”"));
        assert!(err(&[("readme.txt", "x")]).contains("no plugin.json"));
        assert!(err(&[
            ("plugin.json", MANIFEST),
            ("funnel.js", "x"),
            ("../evil.js", "x")
        ])
        .contains("not a plain file name"));
        let unknown = MANIFEST.replace("\"module\"", "\"extra\":1,\"module\"");
        assert!(err(&[("plugin.json", &unknown), ("funnel.js", "x")]).contains("unknown field"));
        assert!(matches!(
            unpack(&root, b"not a zip"),
            Err(AppError::Validation(_))
        ));
        // The failed installs left the working one in place.
        assert_eq!(scan(&root)[0].error, None);

        // A folder dropped in with a broken manifest is listed with its error.
        std::fs::create_dir_all(root.join("broken")).unwrap();
        std::fs::write(root.join("broken/plugin.json"), "{").unwrap();
        let all = scan(&root);
        let broken = all.iter().find(|p| p.manifest.id == "broken").unwrap();
        assert!(broken
            .error
            .as_deref()
            .unwrap()
            .contains("not a valid manifest"));
        let _ = std::fs::remove_dir_all(&root);
    }
}

/// The rows and options a plugin is shown, or what to change: each of its columns taken from
/// the result column the spec maps to it (or the one of the same name), in the manifest's
/// order; its options from the spec over the manifest's defaults.
pub fn payload(
    manifest: &PluginManifest,
    spec: &ChartSpec,
    columns: &[Column],
    rows: &[Vec<Option<String>>],
) -> Result<String, Vec<String>> {
    let mut problems = vec![];
    let mut picked = vec![];
    for c in &manifest.columns {
        let label = if c.label.is_empty() {
            &c.name
        } else {
            &c.label
        };
        let wanted = spec.plugin_columns.get(&c.name).cloned().or_else(|| {
            columns
                .iter()
                .any(|x| x.name == c.name)
                .then(|| c.name.clone())
        });
        let Some(wanted) = wanted else {
            if !c.optional {
                problems.push(format!(
                    "Choose the result column for the plugin's “{label}”."
                ));
            }
            picked.push(None);
            continue;
        };
        let Some(i) = columns.iter().position(|x| x.name == wanted) else {
            problems.push(format!(
                "The result has no column “{wanted}” for the plugin's “{label}”; choose another."
            ));
            picked.push(None);
            continue;
        };
        let r = role(&columns[i].type_name);
        let fits = c.types.is_empty()
            || c.types.iter().any(|t| match t {
                PluginColumnType::Any => true,
                PluginColumnType::Number => r == ColumnRole::Number,
                PluginColumnType::Date => r == ColumnRole::Temporal || r == ColumnRole::Text,
                PluginColumnType::Text => true,
            });
        if !fits {
            problems.push(format!(
                "The plugin's “{label}” takes numbers; “{wanted}” holds {}.",
                columns[i].type_name
            ));
        }
        picked.push(Some(i));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let numeric: Vec<bool> = manifest
        .columns
        .iter()
        .map(|c| c.types == [PluginColumnType::Number])
        .collect();
    let data: Vec<Vec<serde_json::Value>> = rows
        .iter()
        .map(|row| {
            picked
                .iter()
                .zip(&numeric)
                .map(
                    |(p, num)| match p.and_then(|i| row.get(i).cloned().flatten()) {
                        None => serde_json::Value::Null,
                        Some(v) if *num => v
                            .trim()
                            .parse::<f64>()
                            .ok()
                            .and_then(serde_json::Number::from_f64)
                            .map_or(serde_json::Value::Null, serde_json::Value::Number),
                        Some(v) => serde_json::Value::String(v),
                    },
                )
                .collect()
        })
        .collect();
    let mut options = serde_json::Map::new();
    for o in &manifest.options {
        if let Some(v) = spec.plugin_options.get(&o.name).or(o.default.as_ref()) {
            options.insert(o.name.clone(), v.clone());
        }
    }
    let names: Vec<&str> = manifest.columns.iter().map(|c| c.name.as_str()).collect();
    Ok(serde_json::json!({
        "name": manifest.name,
        "data": { "columns": names, "rows": data },
        "options": options,
    })
    .to_string())
}

#[cfg(test)]
mod payload_tests {
    use super::*;

    #[test]
    fn rows_follow_the_manifest_and_bad_columns_are_named() {
        let manifest: PluginManifest = serde_json::from_str(
            r##"{"id":"funnel","name":"Funnel","version":"1","module":"f.js",
                "columns":[{"name":"stage","types":["text"]},{"name":"value","label":"Value","types":["number"]}],
                "options":[{"name":"color","type":"text","default":"#123"}]}"##,
        )
        .unwrap();
        let cols = vec![
            Column {
                name: "n".into(),
                type_name: "INT8".into(),
            },
            Column {
                name: "stage".into(),
                type_name: "TEXT".into(),
            },
        ];
        let rows = vec![
            vec![Some("10".into()), Some("visit".into())],
            vec![None, Some("buy".into())],
        ];
        let mut spec = ChartSpec::default();
        // "value" has no column of its name: it must be chosen.
        let e = payload(&manifest, &spec, &cols, &rows).unwrap_err();
        assert_eq!(
            e,
            vec!["Choose the result column for the plugin's “Value”.".to_string()]
        );
        spec.plugin_columns.insert("value".into(), "n".into());
        let p: serde_json::Value =
            serde_json::from_str(&payload(&manifest, &spec, &cols, &rows).unwrap()).unwrap();
        assert_eq!(p["data"]["columns"], serde_json::json!(["stage", "value"]));
        assert_eq!(
            p["data"]["rows"],
            serde_json::json!([["visit", 10.0], ["buy", null]])
        );
        assert_eq!(p["options"]["color"], "#123");
        spec.plugin_columns.insert("value".into(), "stage".into());
        let e = payload(&manifest, &spec, &cols, &rows).unwrap_err();
        assert!(e[0].contains("takes numbers"), "{e:?}");
    }
}
