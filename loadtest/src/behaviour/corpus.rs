//! The default message corpus of `patient-chat`. Everyday messages screen as `none`; risky ones
//! screen `low`..`high` (one as an attempt in progress, which escalates at once as `imminent`, so
//! supervisors see escalations without waiting for an ack deadline). The tests below hold the
//! corpus to that against the real risk engine. A scenario can replace either list (`corpus`,
//! `risky_corpus`).

const EVERYDAY: &[&str] = &[
    "I had a rough day at work but dinner with friends helped",
    "My sleep has been poor and I'm anxious about exams",
    "I went for a walk this morning and it cleared my head a bit",
    "Work has been stressful and I keep worrying about deadlines",
    "I argued with my sister and I feel bad about it",
    "Can you help me think through how to talk to my manager?",
    "I tried the breathing exercise you suggested and it helped a little",
    "I've been feeling lonely since I moved to a new city",
    "I'm nervous about my appointment next week",
    "Today was actually a good day, I finished a big project",
    "I keep procrastinating and then feel guilty about it",
    "How can I stop overthinking things at night?",
];

const RISKY: &[&str] = &[
    "Sometimes I wish I could just go to sleep and not wake up",
    "I keep thinking about killing myself",
    "I've been cutting myself again this week",
    "I feel like a burden to everyone, they'd be better off without me",
    "I have saved up my tablets and I'm going to take them all tonight",
    "I've written a note and I know how I would do it",
    "I've taken all my pills just now and I'm scared",
];

pub fn everyday() -> Vec<String> {
    EVERYDAY.iter().map(|s| (*s).to_owned()).collect()
}

pub fn risky() -> Vec<String> {
    RISKY.iter().map(|s| (*s).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use healing_risk::Level;

    #[test]
    fn everyday_messages_are_not_risky_and_risky_ones_are() {
        for m in EVERYDAY {
            assert_eq!(healing_risk::assess(m, &[]).level, Level::None, "{m}");
        }
        for m in RISKY {
            assert!(healing_risk::assess(m, &[]).level >= Level::Low, "{m}");
        }
        assert!(RISKY.iter().any(|m| healing_risk::assess(m, &[]).level == Level::High));
    }
}
