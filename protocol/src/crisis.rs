//! The crisis catalogue: one file per deployment and language (`crisis/<deployment>/<lang>.toml`)
//! holding the crisis services and every crisis text a patient can be shown — the `safety`
//! message per level, the fixed replies that stand in for the AI, the crisis guidance given to the
//! model, and the web page's crisis texts.
//!
//! Why this file exists: the numbers used to live in four places and a configured list replaced
//! only one of them, so a deployment outside the UK still told patients to call 999. Now every
//! reader (the `safety` frame, the replies, the model's prompt, `GET /api/v1/crisis` and so the
//! web page) reads one [`Catalogue`], checked when the node starts ([`Catalogue::parse`]): a file
//! that is incomplete or inconsistent stops the node with the field named.
//!
//! The UK English catalogue is compiled in ([`UK_EN`]) and is the default.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::{CrisisResource, RiskLevel};

/// The format tag every catalogue file starts with.
pub const FORMAT: &str = "healing-space-crisis/1";

/// The default catalogue (deployment `uk`, language `en`), compiled into the binary.
pub const UK_EN: &str = include_str!("../../crisis/uk/en.toml");

/// A catalogue that cannot be used; says which file and which field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("crisis catalogue {origin}: {problem}")]
    Parse { origin: String, problem: String },
    #[error("crisis catalogue {origin}: {field}: {problem}")]
    Invalid { origin: String, field: String, problem: String },
    #[error("crisis catalogue {origin}: {problem}")]
    Io { origin: String, problem: String },
}

/// One crisis service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// Stable across the languages of a deployment (`samaritans`, `emergency`).
    pub id: String,
    pub name: String,
    /// What the patient reads ("Call 116 123 (free)"); its numbers are this service's own.
    pub contact: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// Further numbers of the same service that `contact` names ("112 or 999").
    #[serde(default)]
    pub other_phones: Vec<String>,
    #[serde(default)]
    pub sms: Option<String>,
    #[serde(default)]
    pub sms_keyword: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// An emergency service: first in the list at high risk.
    #[serde(default)]
    pub emergency: bool,
    /// When to use it.
    pub when: String,
    pub available: String,
    /// Where the number comes from (provenance; not sent to patients).
    pub source: String,
}

/// Resource ids per level, most urgent first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Levels {
    pub low: Vec<String>,
    pub moderate: Vec<String>,
    pub high: Vec<String>,
}

/// One text per risk level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerLevel {
    pub low: String,
    pub moderate: String,
    pub high: String,
}

impl PerLevel {
    pub fn get(&self, level: RiskLevel) -> &str {
        match level {
            RiskLevel::High => &self.high,
            RiskLevel::Moderate => &self.moderate,
            RiskLevel::Low | RiskLevel::None => &self.low,
        }
    }
}

/// The texts the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    /// The `safety` frame's message while the AI still answers.
    pub safety: PerLevel,
    /// The `safety` frame's message when the AI is paused for the patient.
    pub safety_paused: PerLevel,
    /// What the AI says instead of ordinary chat to a high-risk message.
    pub crisis_response: String,
    /// The holding reply to any message while the AI is paused.
    pub paused_reply: String,
    /// Replaces an AI reply the output guard cut.
    pub safe_replacement: String,
    /// The `ai.end` notice of a reply that could not be completed.
    pub error_notice: String,
    /// Appended to the model's system prompt: the crisis options it may share.
    pub model_guidance: String,
}

/// The web page's crisis texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageTexts {
    pub help_intro: String,
    pub paused_notice: String,
    pub paused_return_notice: String,
    pub paused_return_message: String,
}

/// One deployment's crisis services and texts in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub format: String,
    pub deployment: String,
    pub region: String,
    pub language: String,
    pub language_name: String,
    pub resources: Vec<Resource>,
    pub levels: Levels,
    pub texts: Texts,
    pub page: PageTexts,
}

fn invalid(origin: &str, field: impl Into<String>, problem: impl Into<String>) -> CatalogueError {
    CatalogueError::Invalid { origin: origin.to_owned(), field: field.into(), problem: problem.into() }
}

/// The numbers written in `text`: runs of at least three digits, single spaces allowed between
/// digits ("116 123", "1800 247 247"), returned without the spaces. Shorter runs ("24 hours",
/// "option 2") are not numbers one could call.
pub fn numbers_in(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut digits = String::new();
        while i < chars.len() {
            if chars[i].is_ascii_digit() {
                digits.push(chars[i]);
                i += 1;
            } else if chars[i] == ' ' && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            } else {
                break;
            }
        }
        if digits.len() >= 3 {
            found.push(digits);
        }
    }
    found
}

/// Digits, single spaces between them, an optional leading `+`; 3 to 15 digits.
fn well_formed_number(n: &str, allow_plus: bool) -> bool {
    let body = if allow_plus { n.strip_prefix('+').unwrap_or(n) } else { n };
    let digits = body.chars().filter(char::is_ascii_digit).count();
    !body.is_empty()
        && body.chars().all(|c| c.is_ascii_digit() || c == ' ')
        && body.starts_with(|c: char| c.is_ascii_digit())
        && body.ends_with(|c: char| c.is_ascii_digit())
        && !body.contains("  ")
        && (3..=15).contains(&digits)
}

fn digits_of(n: &str) -> String {
    n.chars().filter(char::is_ascii_digit).collect()
}

impl Catalogue {
    /// Parses and checks a catalogue; `origin` names it in errors (a path, or "built-in uk/en").
    pub fn parse(text: &str, origin: &str) -> Result<Catalogue, CatalogueError> {
        let catalogue: Catalogue = toml::from_str(text)
            .map_err(|e| CatalogueError::Parse { origin: origin.to_owned(), problem: e.to_string() })?;
        catalogue.validate(origin)?;
        Ok(catalogue)
    }

    /// The compiled-in UK English catalogue.
    pub fn uk_default() -> Catalogue {
        match Catalogue::parse(UK_EN, "built-in crisis/uk/en.toml") {
            Ok(c) => c,
            // Checked by this module's tests: a build cannot ship a broken default.
            Err(e) => panic!("{e}"),
        }
    }

    /// Everything a patient would rely on is present, non-empty and consistent.
    pub fn validate(&self, origin: &str) -> Result<(), CatalogueError> {
        if self.format != FORMAT {
            return Err(invalid(origin, "format", format!("must be {FORMAT:?}, found {:?}", self.format)));
        }
        for (field, value) in [
            ("deployment", &self.deployment),
            ("region", &self.region),
            ("language", &self.language),
            ("language_name", &self.language_name),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(origin, field, "is empty"));
            }
        }
        if self.resources.is_empty() {
            return Err(invalid(
                origin,
                "resources",
                "no crisis service listed; patients in crisis must always see somewhere to turn",
            ));
        }
        let mut ids = BTreeMap::new();
        for (i, r) in self.resources.iter().enumerate() {
            let at = |f: &str| format!("resources[{i}].{f}");
            for (f, v) in [
                ("id", &r.id),
                ("name", &r.name),
                ("contact", &r.contact),
                ("when", &r.when),
                ("available", &r.available),
                ("source", &r.source),
            ] {
                if v.trim().is_empty() {
                    return Err(invalid(origin, at(f), "is empty"));
                }
            }
            if ids.insert(r.id.as_str(), r).is_some() {
                return Err(invalid(origin, at("id"), format!("{:?} is listed twice", r.id)));
            }
            if r.phone.is_none() && r.sms.is_none() && r.url.is_none() {
                return Err(invalid(origin, at("phone"), "a service needs a phone, sms or url"));
            }
            if let Some(p) = &r.phone
                && !well_formed_number(p, true)
            {
                return Err(invalid(origin, at("phone"), format!("{p:?} is not a phone number (digits and spaces)")));
            }
            if r.phone.is_none() && !r.other_phones.is_empty() {
                return Err(invalid(origin, at("other_phones"), "given without a phone"));
            }
            if let Some(p) = r.other_phones.iter().find(|p| !well_formed_number(p, true)) {
                return Err(invalid(
                    origin,
                    at("other_phones"),
                    format!("{p:?} is not a phone number (digits and spaces)"),
                ));
            }
            if let Some(s) = &r.sms
                && !well_formed_number(s, false)
            {
                return Err(invalid(origin, at("sms"), format!("{s:?} is not a text number (digits)")));
            }
            if r.sms_keyword.is_some() && r.sms.is_none() {
                return Err(invalid(origin, at("sms_keyword"), "given without an sms number"));
            }
            if let Some(u) = &r.url
                && (!u.starts_with("https://") || u.len() <= "https://".len() || u.contains(char::is_whitespace))
            {
                return Err(invalid(origin, at("url"), format!("{u:?} must be an https:// address")));
            }
            if r.emergency && r.phone.is_none() {
                return Err(invalid(origin, at("phone"), "an emergency service needs a phone number"));
            }
            let own: Vec<String> = r.numbers().map(digits_of).collect();
            for n in numbers_in(&r.contact) {
                if !own.contains(&n) {
                    return Err(invalid(
                        origin,
                        at("contact"),
                        format!("names {n}, which is not this service's phone or sms"),
                    ));
                }
            }
        }
        if !self.resources.iter().any(|r| r.emergency) {
            return Err(invalid(
                origin,
                "resources",
                "no emergency service (a resource with emergency = true and its phone number)",
            ));
        }
        for (level, list) in [
            ("levels.high", &self.levels.high),
            ("levels.moderate", &self.levels.moderate),
            ("levels.low", &self.levels.low),
        ] {
            if list.is_empty() {
                return Err(invalid(origin, level, "lists no service"));
            }
            let mut seen = Vec::new();
            for id in list {
                if !ids.contains_key(id.as_str()) {
                    return Err(invalid(origin, level, format!("{id:?} is not the id of a listed resource")));
                }
                if seen.contains(&id) {
                    return Err(invalid(origin, level, format!("{id:?} is listed twice")));
                }
                seen.push(id);
            }
            if !list.iter().any(|id| ids.get(id.as_str()).is_some_and(|r| r.emergency)) {
                return Err(invalid(origin, level, "does not list the emergency service"));
            }
        }
        if !ids.get(self.levels.high[0].as_str()).is_some_and(|r| r.emergency) {
            return Err(invalid(origin, "levels.high", "must start with an emergency service"));
        }
        let all_numbers: Vec<String> = self.resources.iter().flat_map(Resource::numbers).map(digits_of).collect();
        for (field, text) in self.texts() {
            if text.trim().is_empty() {
                return Err(invalid(origin, field, "is empty"));
            }
            for n in numbers_in(text) {
                if !all_numbers.contains(&n) {
                    return Err(invalid(
                        origin,
                        field,
                        format!("names {n}, which no listed resource has as its phone or sms"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every text of the catalogue with its field name.
    pub fn texts(&self) -> Vec<(&'static str, &str)> {
        let t = &self.texts;
        let p = &self.page;
        vec![
            ("texts.safety.low", &t.safety.low),
            ("texts.safety.moderate", &t.safety.moderate),
            ("texts.safety.high", &t.safety.high),
            ("texts.safety_paused.low", &t.safety_paused.low),
            ("texts.safety_paused.moderate", &t.safety_paused.moderate),
            ("texts.safety_paused.high", &t.safety_paused.high),
            ("texts.crisis_response", &t.crisis_response),
            ("texts.paused_reply", &t.paused_reply),
            ("texts.safe_replacement", &t.safe_replacement),
            ("texts.error_notice", &t.error_notice),
            ("texts.model_guidance", &t.model_guidance),
            ("page.help_intro", &p.help_intro),
            ("page.paused_notice", &p.paused_notice),
            ("page.paused_return_notice", &p.paused_return_notice),
            ("page.paused_return_message", &p.paused_return_message),
        ]
    }

    /// The `safety` frame's message for a level.
    pub fn safety_message(&self, level: RiskLevel, paused: bool) -> &str {
        if paused { self.texts.safety_paused.get(level) } else { self.texts.safety.get(level) }
    }

    fn level_ids(&self, level: RiskLevel) -> &[String] {
        match level {
            RiskLevel::High => &self.levels.high,
            RiskLevel::Moderate => &self.levels.moderate,
            RiskLevel::Low | RiskLevel::None => &self.levels.low,
        }
    }

    /// The services for a level, most urgent first, as sent in the `safety` frame.
    pub fn resources_for(&self, level: RiskLevel) -> Vec<CrisisResource> {
        self.level_ids(level)
            .iter()
            .filter_map(|id| self.resources.iter().find(|r| &r.id == id))
            .map(Resource::to_wire)
            .collect()
    }
}

impl Resource {
    /// Every number of the service: phone, other phones, sms.
    pub fn numbers(&self) -> impl Iterator<Item = &str> {
        self.phone.iter().chain(&self.other_phones).chain(&self.sms).map(String::as_str)
    }

    /// The wire form (no provenance).
    pub fn to_wire(&self) -> CrisisResource {
        CrisisResource {
            name: self.name.clone(),
            contact: self.contact.clone(),
            available: self.available.clone(),
            id: Some(self.id.clone()),
            when: Some(self.when.clone()),
            phone: self.phone.clone(),
            sms: self.sms.clone(),
            sms_keyword: self.sms_keyword.clone(),
            url: self.url.clone(),
            emergency: self.emergency,
        }
    }
}

/// A deployment's catalogues, one per language, and its default language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogues {
    default_language: String,
    by_language: BTreeMap<String, Catalogue>,
}

impl Default for Catalogues {
    /// The compiled-in UK English catalogue.
    fn default() -> Self {
        Catalogues::single(Catalogue::uk_default())
    }
}

impl Catalogues {
    pub fn single(catalogue: Catalogue) -> Catalogues {
        let default_language = catalogue.language.clone();
        Catalogues { default_language, by_language: BTreeMap::from([(catalogue.language.clone(), catalogue)]) }
    }

    /// Loads a catalogue file, or a directory of `<lang>.toml` files of one deployment (every
    /// language listing the same services with the same numbers). `language`: the deployment's
    /// default language, which must be present (`None`: the only one, or `en`).
    pub fn load(path: &Path, language: Option<&str>) -> Result<Catalogues, CatalogueError> {
        let origin = path.display().to_string();
        let io = |e: std::io::Error| CatalogueError::Io { origin: origin.clone(), problem: e.to_string() };
        let mut files = Vec::new();
        if path.is_dir() {
            for entry in std::fs::read_dir(path).map_err(io)? {
                let p = entry.map_err(io)?.path();
                if p.extension().is_some_and(|e| e == "toml") {
                    files.push(p);
                }
            }
            files.sort();
            if files.is_empty() {
                return Err(CatalogueError::Io { origin, problem: "no <language>.toml file in this directory".into() });
            }
        } else {
            files.push(path.to_path_buf());
        }
        let mut by_language: BTreeMap<String, Catalogue> = BTreeMap::new();
        for file in &files {
            let name = file.display().to_string();
            let text = std::fs::read_to_string(file)
                .map_err(|e| CatalogueError::Io { origin: name.clone(), problem: e.to_string() })?;
            let c = Catalogue::parse(&text, &name)?;
            if let Some(stem) = file.file_stem().and_then(|s| s.to_str())
                && path.is_dir()
                && stem != c.language
            {
                return Err(invalid(
                    &name,
                    "language",
                    format!("is {:?} but the file is named {stem}.toml", c.language),
                ));
            }
            if let Some(first) = by_language.values().next() {
                same_services(first, &c, &name)?;
            }
            if by_language.insert(c.language.clone(), c).is_some() {
                return Err(invalid(&name, "language", "two files of one language"));
            }
        }
        let default_language = match language {
            Some(l) => l.to_owned(),
            None if by_language.len() == 1 => by_language.keys().next().cloned().unwrap_or_default(),
            None => "en".to_owned(),
        };
        if !by_language.contains_key(&default_language) {
            return Err(CatalogueError::Io {
                origin,
                problem: format!(
                    "no catalogue in the deployment's language {default_language:?} (found: {})",
                    by_language.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        Ok(Catalogues { default_language, by_language })
    }

    /// The catalogue in the deployment's language.
    pub fn default_catalogue(&self) -> &Catalogue {
        match self.by_language.get(&self.default_language) {
            Some(c) => c,
            // `load` and `single` only build catalogues holding their default language.
            None => unreachable!("the default language is always loaded"),
        }
    }

    pub fn default_language(&self) -> &str {
        &self.default_language
    }

    pub fn languages(&self) -> Vec<&str> {
        self.by_language.keys().map(String::as_str).collect()
    }

    /// The catalogue for a requested language (`pl`, `en-GB`: its primary tag), else the
    /// deployment's own: a person in crisis always gets the numbers.
    pub fn get(&self, language: Option<&str>) -> &Catalogue {
        language
            .map(|l| l.split(['-', '_']).next().unwrap_or(l).to_ascii_lowercase())
            .and_then(|l| self.by_language.get(&l))
            .unwrap_or_else(|| self.default_catalogue())
    }
}

/// Two languages of one deployment list the same services with the same numbers and order.
fn same_services(a: &Catalogue, b: &Catalogue, origin: &str) -> Result<(), CatalogueError> {
    if a.deployment != b.deployment {
        return Err(invalid(
            origin,
            "deployment",
            format!("is {:?}, the other files say {:?}", b.deployment, a.deployment),
        ));
    }
    let key = |c: &Catalogue| -> Vec<(String, Vec<String>, Option<String>, bool)> {
        c.resources
            .iter()
            .map(|r| (r.id.clone(), r.numbers().map(str::to_owned).collect(), r.url.clone(), r.emergency))
            .collect()
    };
    if key(a) != key(b) {
        return Err(invalid(
            origin,
            "resources",
            format!(
                "differ from the {} catalogue's (ids, numbers, urls): every language lists the same services",
                a.language
            ),
        ));
    }
    if a.levels != b.levels {
        return Err(invalid(origin, "levels", format!("differ from the {} catalogue's", a.language)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_uk_catalogue_is_valid_and_carries_the_right_numbers() {
        let c = Catalogue::uk_default();
        assert_eq!((c.deployment.as_str(), c.language.as_str()), ("uk", "en"));
        let all: String = c.resources.iter().map(|r| format!("{} {}\n", r.name, r.contact)).collect();
        for needle in ["116 123", "111", "option 2", "999", "85258"] {
            assert!(all.contains(needle), "missing {needle}");
        }
        let high = c.resources_for(RiskLevel::High);
        assert!(high[0].emergency && high[0].phone.as_deref() == Some("999"), "999 first at high risk: {high:?}");
        assert!(c.safety_message(RiskLevel::High, true).contains("116 123"));
        assert!(c.texts.crisis_response.contains("116 123") && c.texts.crisis_response.contains("999"));
        assert!(c.resources.iter().all(|r| !r.source.is_empty()));
    }

    #[test]
    fn numbers_are_found_in_text() {
        assert_eq!(numbers_in("call 999, or 116 123 (24 hours, option 2); text 85258."), ["999", "116123", "85258"]);
        assert_eq!(numbers_in("Pieta on 1800 247 247"), ["1800247247"]);
        assert!(numbers_in("4-7-8 breathing for 24 hours").is_empty());
    }

    fn edited(from: &str, to: &str) -> Result<Catalogue, CatalogueError> {
        assert!(UK_EN.contains(from), "{from}");
        Catalogue::parse(&UK_EN.replacen(from, to, 1), "test.toml")
    }

    fn field_of(r: Result<Catalogue, CatalogueError>) -> String {
        match r {
            Err(CatalogueError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn a_bad_catalogue_names_the_field() {
        assert_eq!(
            field_of(edited("crisis_response = \"I'm", "crisis_response = \"\" # \"I'm")),
            "texts.crisis_response"
        );
        assert_eq!(field_of(edited("phone = \"999\"", "phone = \"9x9\"")), "resources[0].phone");
        assert_eq!(field_of(edited("emergency = true\n", "")), "resources");
        assert_eq!(
            field_of(edited("high = [\"emergency\", \"nhs-111\"", "high = [\"nhs-111\", \"emergency\"")),
            "levels.high"
        );
        assert_eq!(
            field_of(edited("low = [\"samaritans\", \"shout\", \"nhs-111\", \"emergency\"]", "low = [\"samaritans\"]")),
            "levels.low"
        );
        // A text naming a number no service has (the UK's 999 left in another country's file).
        assert_eq!(
            field_of(edited("call 999 or go to A&E now. You can", "call 112 or go to A&E now. You can")),
            "texts.safety.high"
        );
        assert_eq!(field_of(edited("Call 116 123 (free)", "Call 116 124 (free)")), "resources[2].contact");
        // A missing text, or a misspelt key, is a parse error that names it.
        let e = edited("error_notice = ", "error_notise = ").unwrap_err().to_string();
        assert!(e.contains("error_notise"), "{e}");
        let e = Catalogue::parse("format = \"healing-space-crisis/1\"\n", "x.toml").unwrap_err().to_string();
        assert!(e.contains("x.toml") && e.contains("missing field"), "{e}");
    }

    #[test]
    fn a_directory_holds_one_deployment_in_several_languages_with_the_same_numbers() {
        let dir = std::env::temp_dir().join(format!("healing-crisis-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        // A stand-in second language (the texts stay English: only the layout is under test).
        let other = UK_EN.replace("language = \"en\"", "language = \"pl\"");
        std::fs::write(dir.join("en.toml"), UK_EN).unwrap();
        std::fs::write(dir.join("pl.toml"), &other).unwrap();
        let c = Catalogues::load(&dir, None).unwrap();
        assert_eq!((c.default_language(), c.languages()), ("en", vec!["en", "pl"]));
        assert_eq!(c.get(Some("pl-PL")).language, "pl");
        assert_eq!(Catalogues::load(&dir, Some("pl")).unwrap().default_catalogue().language, "pl");
        assert!(Catalogues::load(&dir, Some("ro")).unwrap_err().to_string().contains("\"ro\""));
        // A translation with another number for a service is refused.
        std::fs::write(dir.join("pl.toml"), other.replace("phone = \"116 123\"", "phone = \"116 124\"")).unwrap();
        let e = Catalogues::load(&dir, None).unwrap_err().to_string();
        assert!(e.contains("pl.toml") && e.contains("resources"), "{e}");
        // So is a file whose name is not its language.
        std::fs::write(dir.join("pl.toml"), UK_EN).unwrap();
        let e = Catalogues::load(&dir, None).unwrap_err().to_string();
        assert!(e.contains("pl.toml") && e.contains("language"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_language_not_loaded_falls_back_to_the_deployments() {
        let c = Catalogues::default();
        assert_eq!(c.get(Some("en-GB")).language, "en");
        assert_eq!(c.get(Some("pl")).language, "en");
        assert_eq!(c.get(None).language, "en");
        assert_eq!(c.languages(), ["en"]);
    }
}
