//! A patient's export as a FHIR R4 `Bundle` of type `collection` (contract §4.9): one `Patient`,
//! one `Communication` per message, one `RiskAssessment` per screened risky message and one
//! `Flag` per alert. Plain `serde_json`; the tests validate the output with the `fhir.resources`
//! models (gateway/tests/data_rights.rs).
//!
//! References inside the bundle are relative (`Patient/<id>`, `Communication/<id>`); every id is
//! the record's own id when it is a valid FHIR id, else a digest of it.

use healing_protocol::{Alert, AlertStatus, Author, Message, RiskLevel, Timestamp, User};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Where our identifiers live (`identifier.system`).
const SYSTEM: &str = "urn:healing-space";

/// A valid FHIR `id` (`[A-Za-z0-9\-\.]{1,64}`) for a record id.
pub fn fhir_id(prefix: &str, id: &str) -> String {
    let candidate = format!("{prefix}{id}");
    let valid = candidate.len() <= 64 && candidate.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if valid {
        candidate
    } else {
        let digest = Sha256::digest(id.as_bytes());
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("{prefix}{hex}")
    }
}

fn instant(t: &Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn patient(u: &User) -> Value {
    json!({
        "resourceType": "Patient",
        "id": fhir_id("", &u.id),
        "identifier": [{"system": format!("{SYSTEM}:user"), "value": u.id}],
        "active": true,
        "name": [{"text": u.display_name}],
    })
}

fn communication(patient_ref: &str, m: &Message) -> Value {
    let us = json!({"reference": patient_ref});
    let author = match m.author {
        Author::Patient => us.clone(),
        Author::Ai => json!({"display": "Healing Space AI companion"}),
        Author::Clinician => json!({"display": "clinician"}),
        Author::System => json!({"display": "Healing Space"}),
    };
    let (sender, recipient) = if m.author == Author::Patient {
        (author, json!({"display": "Healing Space AI companion"}))
    } else {
        (author, us)
    };
    json!({
        "resourceType": "Communication",
        "id": fhir_id("", &m.id),
        "identifier": [
            {"system": format!("{SYSTEM}:message"), "value": m.id},
            {"system": format!("{SYSTEM}:conversation:{}", m.conversation_id), "value": m.seq.to_string()},
        ],
        "status": "completed",
        "subject": {"reference": patient_ref},
        "sent": instant(&m.created_at),
        "sender": sender,
        "recipient": [recipient],
        "payload": [{"contentString": m.text}],
    })
}

fn risk_code(level: RiskLevel) -> &'static str {
    match level {
        RiskLevel::None => "negligible",
        RiskLevel::Low => "low",
        RiskLevel::Moderate => "moderate",
        RiskLevel::High => "high",
    }
}

/// A screened message graded above `none`.
fn risk_assessment(patient_ref: &str, m: &Message) -> Option<Value> {
    let risk = m.risk.as_ref().filter(|r| r.level > RiskLevel::None)?;
    let mut prediction = json!({
        "outcome": {"text": "suicide or self-harm"},
        "qualitativeRisk": {
            "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/risk-probability",
                "code": risk_code(risk.level),
            }],
            "text": risk.level.as_str(),
        },
    });
    if (0.0..=1.0).contains(&risk.score) {
        prediction["probabilityDecimal"] = json!((f64::from(risk.score) * 1000.0).round() / 1000.0);
    }
    let mut out = json!({
        "resourceType": "RiskAssessment",
        "id": fhir_id("risk-", &m.id),
        "status": "final",
        "subject": {"reference": patient_ref},
        "occurrenceDateTime": instant(&m.created_at),
        "method": {"text": "Healing Space risk screening (C-SSRS rules and a semantic detector)"},
        "basis": [{"reference": format!("Communication/{}", fhir_id("", &m.id))}],
        "prediction": [prediction],
    });
    if !risk.reasons.is_empty() {
        out["note"] = json!([{"text": risk.reasons.join("; ")}]);
    }
    Some(out)
}

fn flag(patient_ref: &str, a: &Alert) -> Value {
    let active = matches!(a.status, AlertStatus::Open | AlertStatus::Escalated);
    let mut period = json!({"start": instant(&a.created_at)});
    if let Some(end) = a.acknowledged_at.as_ref().filter(|_| !active) {
        period["end"] = json!(instant(end));
    }
    json!({
        "resourceType": "Flag",
        "id": fhir_id("alert-", &a.id),
        "identifier": [{"system": format!("{SYSTEM}:alert"), "value": a.id}],
        "status": if active { "active" } else { "inactive" },
        "category": [{
            "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/flag-category",
                "code": "safety",
                "display": "Safety",
            }],
        }],
        "code": {"text": format!("{} risk alert ({})", a.level.as_str(), a.status.as_str())},
        "subject": {"reference": patient_ref},
        "period": period,
    })
}

/// The Bundle: the patient first, then every message (oldest first, conversation by
/// conversation) with its risk assessment after it, then every alert.
pub fn bundle(user: &User, messages: &[Message], alerts: &[Alert], now: Timestamp) -> Value {
    let patient_ref = format!("Patient/{}", fhir_id("", &user.id));
    let mut entries = vec![patient(user)];
    for m in messages {
        entries.push(communication(&patient_ref, m));
        if let Some(r) = risk_assessment(&patient_ref, m) {
            entries.push(r);
        }
    }
    entries.extend(alerts.iter().map(|a| flag(&patient_ref, a)));
    json!({
        "resourceType": "Bundle",
        "id": fhir_id("export-", &uuid::Uuid::new_v4().to_string()),
        "type": "collection",
        "timestamp": instant(&now),
        "entry": entries.into_iter().map(|r| json!({"resource": r})).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_fhir_ids() {
        assert_eq!(fhir_id("", "0a1b-2c"), "0a1b-2c");
        let long = fhir_id("risk-", &"x".repeat(100));
        assert!(long.len() <= 64 && long.starts_with("risk-"));
        assert!(fhir_id("", "has space/and:colon").chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
