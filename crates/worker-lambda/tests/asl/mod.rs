//! A small interpreter of the Amazon States Language subset deploy/statemachines uses, so the
//! tests run the very definitions the template deploys against the real worker in-process:
//! Task (`lambda:invoke` of the worker, `states:startExecution.sync:2` of a child machine),
//! Choice (`StringEquals`, `BooleanEquals`, `IsPresent`, `And`, `Or`, `Not`), Pass, Map (its
//! items one after another), Succeed and Fail; InputPath, Parameters (with `.$` paths,
//! `$$.Map.Item.Value` / `.Index`, `$$.Execution.Id` and `States.StringToJson`), ResultSelector,
//! ResultPath (`null`, `$`, `$.a.b`), OutputPath, Catch. Retry is not interpreted (a failed
//! step fails at once): the tests are about the data each state hands the next.
//!
//! Anything outside the subset panics naming it, so a definition that grows past what this
//! checks is noticed rather than half-run.

use serde_json::{json, Map, Value};
use std::future::Future;
use std::pin::Pin;

/// A failed state: the error name and cause, as a Catch sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error: String,
    pub cause: String,
}

/// What a Task calls: `(resource, function or machine, input) -> output or failure`.
pub type Invoke<'a> = &'a (dyn Fn(String, String, Value) -> Pin<Box<dyn Future<Output = Result<Value, Failure>> + 'a>>
         + 'a);

/// A definition with its `${...}` substitutions applied.
pub fn load(path: &std::path::Path, substitutions: &[(&str, &str)]) -> Value {
    let mut text = std::fs::read_to_string(path).unwrap();
    for (name, value) in substitutions {
        text = text.replace(&format!("${{{name}}}"), value);
    }
    assert!(
        !text.contains("${"),
        "{} has a substitution the test does not provide",
        path.display()
    );
    serde_json::from_str(&text).unwrap()
}

/// The visited state names and the final output, or the failure that ended the run.
#[derive(Debug)]
pub struct Run {
    pub visited: Vec<String>,
    pub result: Result<Value, Failure>,
}

/// Runs `machine` (a definition or an ItemProcessor) on `input`.
pub fn run<'a>(
    machine: &'a Value,
    input: Value,
    context: Value,
    invoke: Invoke<'a>,
) -> Pin<Box<dyn Future<Output = Run> + 'a>> {
    Box::pin(async move {
        let states = machine["States"].as_object().expect("States");
        let mut name = machine["StartAt"].as_str().expect("StartAt").to_string();
        let mut data = input;
        let mut visited = Vec::new();
        loop {
            visited.push(name.clone());
            let state = states
                .get(&name)
                .unwrap_or_else(|| panic!("no state {name}"));
            let kind = state["Type"].as_str().unwrap();
            let outcome: Result<Value, Failure> = match kind {
                "Pass" => {
                    let effective = filter_input(state, &data, &context);
                    let result = match state.get("Result") {
                        Some(r) => r.clone(),
                        None => effective,
                    };
                    Ok(apply_result(state, &data, result))
                }
                "Task" => {
                    let effective = filter_input(state, &data, &context);
                    let resource = state["Resource"].as_str().unwrap().to_string();
                    let target = effective
                        .get("FunctionName")
                        .or_else(|| effective.get("StateMachineArn"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    match invoke(resource, target, effective).await {
                        Ok(result) => Ok(apply_result(state, &data, result)),
                        Err(f) => Err(f),
                    }
                }
                "Map" => {
                    let items = path(&data, state["ItemsPath"].as_str().unwrap_or("$"))
                        .as_array()
                        .unwrap_or_else(|| panic!("{name}: ItemsPath is not an array"))
                        .clone();
                    let processor = state
                        .get("ItemProcessor")
                        .or_else(|| state.get("Iterator"))
                        .expect("ItemProcessor");
                    let mut outputs = Vec::new();
                    let mut failed = None;
                    for (index, item) in items.into_iter().enumerate() {
                        let item_context = json!({"Map": {"Item": {"Value": item, "Index": index}}, "Execution": context["Execution"]});
                        let item_input = match state.get("ItemSelector") {
                            Some(selector) => template(selector, &data, &item_context),
                            None => item.clone(),
                        };
                        let inner = run(processor, item_input, item_context, invoke).await;
                        match inner.result {
                            Ok(out) => outputs.push(out),
                            Err(f) => {
                                failed = Some(f);
                                break;
                            }
                        }
                    }
                    match failed {
                        Some(f) => Err(f),
                        None => Ok(apply_result(state, &data, Value::Array(outputs))),
                    }
                }
                "Choice" => {
                    let next = state["Choices"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|rule| choose(rule, &data))
                        .map(|rule| rule["Next"].as_str().unwrap().to_string())
                        .or_else(|| state["Default"].as_str().map(String::from))
                        .unwrap_or_else(|| panic!("{name}: no choice matched and no Default"));
                    name = next;
                    continue;
                }
                "Succeed" => {
                    return Run {
                        visited,
                        result: Ok(data),
                    }
                }
                "Fail" => {
                    let text = |field: &str, path_field: &str| {
                        state
                            .get(path_field)
                            .and_then(Value::as_str)
                            .map(|p| path(&data, p).as_str().unwrap_or_default().to_string())
                            .or_else(|| state.get(field).and_then(Value::as_str).map(String::from))
                            .unwrap_or_default()
                    };
                    return Run {
                        visited,
                        result: Err(Failure {
                            error: text("Error", "ErrorPath"),
                            cause: text("Cause", "CausePath"),
                        }),
                    };
                }
                other => panic!("state type {other} is outside the interpreted subset"),
            };
            match outcome {
                Ok(result) => {
                    data = match state.get("OutputPath") {
                        Some(Value::String(p)) => path(&result, p),
                        Some(Value::Null) => json!({}),
                        _ => result,
                    };
                }
                Err(failure) => {
                    let catch = state
                        .get("Catch")
                        .and_then(Value::as_array)
                        .and_then(|catchers| {
                            catchers.iter().find(|c| {
                                c["ErrorEquals"].as_array().unwrap().iter().any(|e| {
                                    e == "States.ALL" || e.as_str() == Some(failure.error.as_str())
                                })
                            })
                        });
                    let Some(catch) = catch else {
                        return Run {
                            visited,
                            result: Err(failure),
                        };
                    };
                    let caught = json!({"Error": failure.error, "Cause": failure.cause});
                    data = set_path(
                        &data,
                        catch.get("ResultPath").unwrap_or(&json!("$")),
                        caught,
                    );
                    name = catch["Next"].as_str().unwrap().to_string();
                    continue;
                }
            }
            if state.get("End").and_then(Value::as_bool) == Some(true) {
                return Run {
                    visited,
                    result: Ok(data),
                };
            }
            name = state["Next"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: neither Next nor End"))
                .to_string();
        }
    })
}

fn filter_input(state: &Value, data: &Value, context: &Value) -> Value {
    let input = match state.get("InputPath") {
        Some(Value::String(p)) => path(data, p),
        _ => data.clone(),
    };
    match state.get("Parameters") {
        Some(parameters) => template(parameters, &input, context),
        None => input,
    }
}

fn apply_result(state: &Value, data: &Value, result: Value) -> Value {
    let result = match state.get("ResultSelector") {
        Some(selector) => template(selector, &result, &json!({})),
        None => result,
    };
    match state.get("ResultPath") {
        Some(Value::Null) => data.clone(),
        Some(p) => set_path(data, p, result),
        None => result,
    }
}

/// A Parameters-like template: `"k.$"` fields are paths or intrinsics on `data` / `context`.
fn template(template: &Value, data: &Value, context: &Value) -> Value {
    match template {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, value) in fields {
                match key.strip_suffix(".$") {
                    Some(name) => {
                        let expr = value.as_str().expect("a path");
                        out.insert(name.to_string(), evaluate(expr, data, context));
                    }
                    None => {
                        out.insert(key.clone(), self::template(value, data, context));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| self::template(v, data, context))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn evaluate(expr: &str, data: &Value, context: &Value) -> Value {
    if let Some(rest) = expr.strip_prefix("$$") {
        return path(context, &format!("${rest}"));
    }
    if let Some(arg) = expr
        .strip_prefix("States.StringToJson('")
        .and_then(|r| r.strip_suffix("')"))
    {
        return serde_json::from_str(arg).unwrap_or_else(|e| panic!("StringToJson({arg}): {e}"));
    }
    assert!(
        expr.starts_with('$'),
        "intrinsic {expr} is outside the interpreted subset"
    );
    path(data, expr)
}

/// `$`, `$.a.b` (a missing field is an error in Step Functions: here a panic naming it).
fn path(data: &Value, p: &str) -> Value {
    let mut at = data;
    for part in p
        .trim_start_matches('$')
        .split('.')
        .filter(|s| !s.is_empty())
    {
        at = at
            .get(part)
            .unwrap_or_else(|| panic!("path {p}: no field {part} in {data}"));
    }
    at.clone()
}

fn set_path(data: &Value, p: &Value, value: Value) -> Value {
    let Some(p) = p.as_str() else {
        return data.clone();
    };
    let parts: Vec<&str> = p
        .trim_start_matches('$')
        .split('.')
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        return value;
    }
    let mut out = data.clone();
    let mut at = &mut out;
    for part in &parts[..parts.len() - 1] {
        at = at
            .as_object_mut()
            .expect("an object")
            .entry(part.to_string())
            .or_insert_with(|| json!({}));
    }
    at.as_object_mut()
        .expect("an object")
        .insert(parts[parts.len() - 1].to_string(), value);
    out
}

fn choose(rule: &Value, data: &Value) -> bool {
    if let Some(all) = rule.get("And").and_then(Value::as_array) {
        return all.iter().all(|r| choose(r, data));
    }
    if let Some(any) = rule.get("Or").and_then(Value::as_array) {
        return any.iter().any(|r| choose(r, data));
    }
    if let Some(not) = rule.get("Not") {
        return !choose(not, data);
    }
    let variable = rule["Variable"].as_str().expect("Variable");
    let found = lookup(data, variable);
    if let Some(present) = rule.get("IsPresent").and_then(Value::as_bool) {
        return found.is_some() == present;
    }
    let Some(found) = found else {
        panic!("Choice on {variable}, which is not in {data}: Step Functions fails the run here");
    };
    if let Some(s) = rule.get("StringEquals") {
        return &found == s;
    }
    if let Some(b) = rule.get("BooleanEquals") {
        return &found == b;
    }
    panic!("choice rule {rule} is outside the interpreted subset")
}

fn lookup(data: &Value, p: &str) -> Option<Value> {
    let mut at = data;
    for part in p
        .trim_start_matches('$')
        .split('.')
        .filter(|s| !s.is_empty())
    {
        at = at.get(part)?;
    }
    Some(at.clone())
}
