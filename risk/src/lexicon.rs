//! The cue lexicon: interpretable patterns, each tied to a C-SSRS screener item.
//!
//! Patterns are written against the normalised text (see `normalize.rs`): lowercase, straight
//! apostrophes, algospeak already mapped to plain words. Placeholders in `{BRACES}` are expanded
//! once at start-up; `\b` is made ASCII-only so the lazy DFA never falls back to a slow engine.

use regex::{Regex, RegexSet};
use std::sync::LazyLock;

/// What a cue is evidence of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Item 1: wish to be dead.
    Wish,
    /// Item 2: non-specific active suicidal thoughts.
    Ideation,
    /// Item 3: thinking about a method, or asking about one.
    Method,
    /// Item 4: intent to act.
    Intent,
    /// Item 5: a plan (date, place, how).
    Plan,
    /// Item 6: preparatory behaviour (means gathered, notes, giving things away).
    Preparation,
    /// Item 6: an actual, interrupted or aborted attempt; graded by when it happened.
    Behaviour,
    /// An attempt in progress or imminent (means in hand, pills just swallowed).
    Acute,
    /// Non-suicidal self-harm (thoughts or acts).
    SelfHarm,
    /// Self-harm with medical severity (stitches, deep, heavy bleeding).
    SelfHarmSevere,
    /// Means mentioned without suicidal framing: only counts with risk earlier in the conversation.
    Means,
    /// Ambiguous intent ("I'm doing it tonight"): only counts with risk earlier in the conversation.
    Veiled,
    /// Hopelessness or worthlessness: corroborates ambiguous intent, never a level on its own.
    Distress,
}

impl Kind {
    /// The C-SSRS item label used in reasons.
    pub fn item(self) -> &'static str {
        match self {
            Kind::Wish => "C-SSRS 1: wish to be dead",
            Kind::Ideation => "C-SSRS 2: suicidal thoughts",
            Kind::Method => "C-SSRS 3: thoughts of a method",
            Kind::Intent => "C-SSRS 4: suicidal intent",
            Kind::Plan => "C-SSRS 5: suicide plan",
            Kind::Preparation => "C-SSRS 6: preparatory behaviour",
            Kind::Behaviour => "C-SSRS 6: suicidal behaviour",
            Kind::Acute => "C-SSRS 6: attempt in progress",
            Kind::SelfHarm => "Self-harm",
            Kind::SelfHarmSevere => "Self-harm: medically serious",
            Kind::Means => "Means mentioned",
            Kind::Veiled => "Veiled intent",
            Kind::Distress => "Distress",
        }
    }
}

/// Whose risk a pattern describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Person {
    /// The pattern itself says it is the patient ("myself", "my life").
    First,
    /// Decided from the clause's nearest subject ("she wants to die" vs "I want to die").
    Any,
    /// The pattern itself names someone else ("herself", "his own life").
    Third,
}

/// One lexicon entry.
#[derive(Debug)]
pub struct Cue {
    /// What the cue indicates.
    pub kind: Kind,
    /// Whose risk it describes.
    pub person: Person,
    /// The compiled pattern.
    pub re: Regex,
}

const PLACEHOLDERS: &[(&str, &str)] = &[
    // Filler: up to N words ("just", "really", "fucking") between the parts of a phrase.
    ("{W1}", r"(?:[\w'\-]+\s+)?"),
    ("{W2}", r"(?:[\w'\-]+\s+){0,2}?"),
    ("{W3}", r"(?:[\w'\-]+\s+){0,3}?"),
    ("{W5}", r"(?:[\w'\-]+[\s,]+){0,5}?"),
    ("{W8}", r"(?:[\w'\-]+[\s,]+){0,8}?"),
    ("{IM}", r"(?:i'?m|i\s+am|ive|i've|i\s+have|i)"),
    (
        "{PILLS}",
        r"(?:pills?|tablets?|paracetamol|panadol|tylenol|acetaminophen|ibuprofen|advil|aspirin|meds|medications?|medicines?|painkillers?|pain\s+killers|antidepressants?|insulin|opioids?|opiates?|oxy(?:codone|contin|s)?|codeine|morphine|tramadol|benzos?|xanax|alprazolam|diazepam|valium|klonopin|lorazepam|lithium|sertraline|citalopram|escitalopram|fluoxetine|prozac|zoloft|lexapro|seroquel|quetiapine|amitriptyline|nortriptyline|trazodone|melatonin|benadryl|diphenhydramine|antihistamines?|heroin|fentanyl|sleeping\s+pills|sleeping\s+tablets|pills-emoji|olanzapine|zolpidem|zopiclone|ambien|gabapentin|pregabalin|propranolol|bupropion|venlafaxine|mirtazapine|clonazepam|adderall|ketamine|cyanide|potassium\s+cyanide|sodium\s+nitrite|\d+\s*mg)",
    ),
    (
        "{MEANS}",
        r"(?:rope|noose|belt|cord|gun|guns|rifle|shotgun|pistol|firearms?|bullets?|knife|knives|blades?|razors?|bridge|cliff|roof|rooftop|building|ledge|balcony|train|trains|tracks|traffic|motorway|highway|exhaust|carbon\s+monoxide|helium|nitrogen|nitrite|bleach|antifreeze|poison|charcoal|garage|overdose|gun-emoji|knife-emoji|rope-emoji|train-emoji|bridge-emoji)",
    ),
    (
        "{DIEV}",
        r"(?:die|be\s+dead|death|not\s+(?:be\s+)?(?:alive|here|exist(?:ing)?|around|living)|not\s+wake\s+up|stop\s+(?:existing|living|breathing)|disappear\s+(?:forever|permanently|for\s+good)|cease\s+to\s+exist|sleep\s+forever|never\s+wake\s+up|be\s+gone\s+(?:forever|for\s+good)|leave\s+this\s+(?:world|earth|planet|life)|vanish|disappear|sleep\s+for\s+a\s+(?:long\s+)+time)",
    ),
    (
        "{SELFKILL}",
        r"(?:kill(?:ing|ed|s)?\s+myself|end(?:ing|ed|s)?\s+(?:my\s+(?:own\s+)?life|myself|it\s+all|my\s+suffering|everything|it|things)|tak(?:e|ing)\s+my\s+(?:own\s+)?life|suicide|commit(?:ting)?\s+suicide|off(?:ing)?\s+myself|unalive\s+myself)",
    ),
    (
        "{TIME}",
        r"(?:tonight|today|tomorrow|this\s+(?:week|weekend|evening|morning|afternoon|time)|(?:on|this|next|by|before|after)\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|my\s+birthday|christmas|new\s+year)|soon|very\s+soon|in\s+(?:a\s+few|\d+|a|an|two|ten)\s+(?:minutes?|mins?|hours?|days?)|before\s+(?:the\s+end|the\s+year|christmas)|when\s+(?:everyone|they|my\s+\w+)\s+(?:goes?|leaves?|is|are)|(?:when|once|after|as\s+soon\s+as)\s+(?:everyone|everybody|they|he|she|my\s+\w+|the\s+\w+)(?:'s|\s+(?:is|are|goes|go|leaves|leave|left|falls?|fell|gets?))\s+(?:\w+\s+)?(?:asleep|out|away|gone|to\s+(?:bed|sleep|work|school)|on\s+holiday|home)|after\s+(?:my|the|everyone|they|this))",
    ),
];

/// `(kind, person, pattern)`; order does not matter.
const CUES: &[(Kind, Person, &str)] = &[
    // ---- Item 1: wish to be dead -------------------------------------------------------------
    (
        Kind::Wish,
        Person::Any,
        r"\b(?:want(?:ed|ing|s)?\s+to|wanna|wish(?:ed|ing)?\s+(?:to|i\s+(?:could|can|would|was|were|had|did))|would\s+rather|'d\s+rather|hope|hoping|pray(?:ing)?\s+(?:to|that\s+i|i)|long(?:ing)?\s+to|need\s+to|ready\s+to|feel\s+like|felt\s+like|feeling\s+like|time\s+to|let\s+me)\s+(?:just\s+|simply\s+|finally\s+|fucking\s+|actually\s+|really\s+)?(?:{DIEV}|dying|passing\s+away|sleep\s+forever)",
    ),
    (
        Kind::Wish,
        Person::First,
        r"\bwish(?:ed)?\s+(?:that\s+)?(?:i|i'd)\s+(?:was|were|had|wasn't|weren't|hadn't|wouldn't\s+have|would\s+have|could\s+have|should\s+have|should've|could've)\s+(?:(?:just|never|not|already|even|ever)\s+)*(?:dead|born|alive|gone|here|existed|died|die|dies|been\s+born|woken\s+up|wake\s+up|aborted)",
    ),
    (
        Kind::Wish,
        Person::First,
        r"\b(?:wish|wished|hope|hoping|pray)\s+(?:that\s+)?i\s+(?:don't|dont|won't|wont|didn't|didnt|never|do\s+not|will\s+not)\s+(?:wake\s+up|exist|make\s+it)",
    ),
    (
        Kind::Wish,
        Person::Any,
        r"\b(?:don't|dont|do\s+not|didn't|didnt|no\s+longer|doesn't)\s+(?:really\s+|even\s+)?(?:want|wanna|wish)\s+(?:to\s+)?(?:live|be\s+alive|exist|be\s+here|wake\s+up|go\s+on|continue\s+(?:living|on|with\s+(?:life|this))|keep\s+(?:living|going|on)|be\s+around|survive|be\s+on\s+this\s+earth)",
    ),
    (
        Kind::Wish,
        Person::Any,
        r"\b(?:(?:no|lost\s+(?:my|the|all)|don't\s+have\s+(?:a|any|the)|have\s+no|zero|nothing)\s+(?:will|reason|reasons|desire|motivation|plans?|left|more)\s+to\s+(?:live|be\s+alive|go\s+on|keep\s+going|stay|live\s+for|live\s+on)|\bstruggl\w*\s+(?:\w+\s+){0,2}?to\s+(?:keep\s+on\s+living|keep\s+living|stay\s+alive)|\bnothing\s+(?:left\s+)?to\s+live\s+for|\bno\s+will\s+to\b|(?:finding|find|struggling\s+to\s+find)\s+(?:a\s+)?reasons?\s+to\s+live)",
    ),
    (
        Kind::Wish,
        Person::Any,
        r"\b(?:don't|dont|do\s+not)\s+(?:even\s+|really\s+)?care\s+(?:anymore\s+|any\s+more\s+)?(?:if|whether)\s+i\s+(?:die|live|wake\s+up|get\s+(?:hit|killed))\b|\b(?:tired|sick|exhausted|weary)\s+of\s+(?:\w+\s+)?(?:living|existing|being\s+alive|life|being\s+here|my\s+life|fighting\s+to\s+live|this\s+life|waking\s+up)|\b(?:don't|dont|do\s+not)\s+want\s+to\s+keep\s+(?:waking\s+up|living|existing|going)",
    ),
    (
        Kind::Wish,
        Person::Any,
        r"\b(?:better\s+off\s+(?:dead|without\s+me|if\s+i\s+(?:was|were|wasn't|weren't|didn't)|with\s+me\s+gone)|(?:i'm|i\s+am|being|feel\s+like|i'll\s+be|i\s+will\s+be|becoming|become)\s+(?:such\s+|just\s+|only\s+|nothing\s+but\s+|more\s+of\s+)?a\s+burden|better\s+without\s+me|(?:so\s+)?(?:i'm|i\s+am|i'd\s+be)\s+not\s+a\s+burden|burden\s+(?:to|on)\s+(?:everyone|everybody|my|them|others|people)|world\s+(?:would\s+be|is)\s+better\s+without\s+me)",
    ),
    (
        Kind::Wish,
        Person::Any,
        r"\b(?:what's|whats|what\s+is)\s+(?:even\s+)?the\s+point(?:\s+(?:of|in)\s+(?:\w+\s+)?(?:living|life|anything|going\s+on|being\s+alive|trying|existing|it\s+all|carrying\s+on)|\s*(?:[?.!]|anymore|$))|(?:no|don't\s+see\s+(?:a|the|any)|there's\s+no)\s+(?:point|reason)\s+(?:in|to|of)\s+(?:living|live|life|going\s+on|being\s+alive|keep\s+going|existing|stay\s+alive)|\blife\s+(?:is|isn't|is\s+not)\s+(?:\w+\s+)?(?:not\s+)?worth\s+(?:living|it)|\b(?:not|isn't|isnt|ain't|no\s+longer)\s+(?:\w+\s+)?worth\s+(?:living|being\s+alive|staying\s+alive)|(?:don't|dont|can't|cannot)\s+see\s+(?:a|any)\s+future",
    ),
    (
        Kind::Wish,
        Person::Any,
        r"\b(?:want|need|wish|hope)\s+(?:it|everything|this|the\s+pain|it\s+all|this\s+all|all\s+of\s+(?:it|this)|life)\s+(?:all\s+)?(?:to\s+)?(?:just\s+)?(?:end|ends|stop|stops|be\s+over|be\s+finished|be\s+done)|\b(?:wait|waiting)\s+for\s+(?:life|it\s+all|death|the\s+end)\s+to\s+(?:stop|end|come)|\bwhy\s+(?:am\s+i|are\s+we|do\s+i\s+(?:bother|keep))\s+(?:still\s+)?(?:alive|here|living|existing|going)|why\s+(?:the\s+fuck\s+)?am\s+i\s+(?:still\s+)?(?:existing|alive)",
    ),
    (
        Kind::Wish,
        Person::Any,
        r"\b(?:(?:welcome|embrace|long\s+for|wish\s+for|pray(?:ing)?\s+for|begging\s+for|beg\s+for|crave|craving|await)\s+death|death\s+(?:would\s+be|is|will\s+be|seems)\s+(?:\w+\s+)?(?:relief|better|welcome|peaceful|easier|the\s+answer|the\s+only)|(?:god|please|lord|just|someone|somebody|pls|fucking),?\s+(?:just\s+|please\s+|fucking\s+)?(?:kill\s+me|end\s+me|let\s+me\s+die|take\s+me)\b|\bend\s+me\b|\bshould\s+be\s+put\s+down\b|\b(?:never\s+should\s+have|should\s+(?:never\s+)?have\s+(?:never\s+)?|shouldn't\s+have)\s+been\s+born\b|\bshould(?:'ve|\s+have)\s+(?:just\s+)?(?:died|die|dies)\b|\bwish\s+i\s+(?:just\s+)?died\b|\b(?:it's|its)\s+(?:about\s+)?time\s+(?:for\s+me\s+)?to\s+(?:die|go)\b|\bif\s+i\s+(?:die|died|disappeared|was\s+gone|were\s+gone)\s+(?:\w+\s+){0,3}?(?:no\s+one|nobody|no-one)\s+would\s+(?:notice|care|miss)|\b(?:dying|death)\s+(?:is|would\s+be|seems\s+like)\s+(?:a|the)\s+(?:better|only|best|easier)\s+(?:option|way|choice|solution)|\b(?:i'd|i\s+would|i'll|i\s+will)\s+(?:probably\s+|already\s+|just\s+)?be\s+(?:gone|dead)\b|\b(?:only|the\s+only|want\s+a|need\s+a|just\s+want\s+a)\s+way\s+out\b|\bnot\s+(?:going\s+to\s+)?be\s+(?:alive\s+(?:by|for\s+much\s+longer|much\s+longer|next)|(?:here|around)\s+(?:for\s+much\s+longer|much\s+longer))|(?:grave-emoji|coffin-emoji))",
    ),
    (
        Kind::Wish,
        Person::Any,
        r"\b(?:i\s+)?(?:can't|cant|cannot)\s+(?:do\s+(?:this|it|life)|take\s+(?:it|this)|go\s+on|keep\s+going(?:\s+on)?|keep\s+living|live\s+like\s+this|keep\s+doing\s+this|handle\s+(?:it|this|life)|bear\s+(?:it|this)|be\s+here|continue)\s+(?:any\s*more|any\s+longer|much\s+longer)|\b(?:can't|cant|cannot)\s+(?:go\s+on|keep\s+(?:going\s+on|living|doing\s+this|on\s+like\s+this)|live\s+like\s+this|live\s+anymore|survive\s+this|anymore|do\s+this\s+anymore)",
    ),
    (
        Kind::Wish,
        Person::Any,
        r"\b(?:rather\s+(?:be\s+dead|not\s+(?:be\s+)?(?:alive|exist|be\s+here|live))|(?:not|don't)\s+(?:want|wanna)\s+to\s+be\s+alive|hope\s+(?:i|to)\s+(?:die|get\s+(?:hit|killed|cancer))|(?:end|ending)\s+of\s+my\s+life\s+(?:soon|is\s+near)|sleep\s+and\s+(?:never|not)\s+wake\s+up|wish\s+i\s+could\s+(?:just\s+)?(?:disappear|vanish|sleep\s+forever|not\s+exist|stop\s+existing|die))",
    ),
    (
        Kind::Wish,
        Person::Any,
        r"\b(?:done\s+with\s+(?:this|my)\s+life\b|done\s+with\s+life\s*(?:[.!,]|$)|wish\s+(?:it|this|everything|my\s+life)\s+(?:was|were|would)\s+(?:just\s+)?(?:over|stop|end)\b|no\s+reason\s+(?:for\s+me\s+)?to\s+(?:stick|stay)\s+around|want\s+to\s+live\s+with\s+myself|hope\s+i\s+(?:will\s+|'ll\s+)?die\s+(?:soon|young|in\s+my\s+sleep)|lose\s+my\s+battle|(?:cannot|can't|cant)\s+wait\s+to\s+(?:die|be\s+dead|move\s+on\s+to\s+the\s+next\s+(?:one|life)))",
    ),
    // ---- Item 2: active, non-specific suicidal thoughts ---------------------------------------
    (
        Kind::Ideation,
        Person::First,
        r"\b(?:kill(?:ing|ed|s)?|k-?ll)\s+myself\b|\bending\s+it\s+all\b|\bend\s+my\s+fucking\s+life\b",
    ),
    (
        Kind::Ideation,
        Person::First,
        r"\b(?:end(?:ing|ed|s)?|take|taking|took)\s+my\s+(?:own\s+)?life\b|\bend(?:ing)?\s+myself\b|\boff(?:ing)?\s+myself\b",
    ),
    (Kind::Ideation, Person::Any, r"\bsuicid(?:e|al|ality)\b|\bsuicide-emoji\b"),
    (
        Kind::Ideation,
        Person::Any,
        r"\b(?:want(?:ed|s)?\s+to|wanna|going\s+to|gonna|thinking\s+(?:about|of)|thought\s+(?:about|of)|think\s+(?:about|of)|urge\s+to|tempted\s+to|close\s+to|wish\s+i\s+could|just|finally|should|to|feel\s+like|felt\s+like|feeling\s+like|not\s+for|coward\s+for\s+not)\s+(?:just\s+)?(?:end(?:ing)?\s+(?:it|it\s+all|everything|things|my\s+(?:fucking\s+)?life|this)|commit(?:\s+suicide|\s*[.,!?]|\s*$|\s+(?:tonight|soon|today|but|and\s+i))|game\s*-?\s*end)",
    ),
    (
        Kind::Ideation,
        Person::Any,
        r"\b(?:thoughts?|thinking|think|thought|fantasi[sz]\w*|dream\w*|obsess\w*)\s+(?:about|of)\s+(?:\w+\s+)?(?:death|dying|suicide|ending\s+(?:it|my\s+life|things)|not\s+being\s+(?:here|alive|around)|killing\s+myself|my\s+(?:own\s+)?death|my\s+funeral|being\s+dead)",
    ),
    (
        Kind::Ideation,
        Person::First,
        r"\b(?:i'm|i\s+am|im|i\s+feel|feeling)\s+(?:so\s+|really\s+|very\s+|pretty\s+)?(?:close\s+to\s+(?:the\s+edge|giving\s+up\s+on\s+life|ending)|ready\s+to\s+(?:go|let\s+go|give\s+up\s+on\s+life))|\bgive\s+up\s+on\s+(?:life|living)\b|\bcommitting\b(?:\s+soon|\s*[,.!?]|\s*$|\s+but)",
    ),
    (
        Kind::Ideation,
        Person::Any,
        r"\b(?:kill|killing|end|ending|take|taking)\s+(?:myself|my\s+life)\s+(?:or|and)\b|\bwhy\s+(?:shouldn't|should|not|don't)\s+i\s+(?:just\s+)?(?:kill\s+myself|die|end\s+it)",
    ),
    // ---- Item 3: thinking about / asking about a method ---------------------------------------
    (
        Kind::Method,
        Person::First,
        r"\b(?:hang(?:ing|ed)?|shoot(?:ing)?|shot|stab|gun(?:bing|bed)?|drown(?:ing|ed)?|poison(?:ing|ed)?|gas(?:sing)?|electrocut\w*|suffocat\w*|hurl(?:ing)?|throw(?:ing)?|burn(?:ing)?|set(?:ting)?\s+fire\s+to|starv\w*|strangl\w*|choke|choking)\s+myself\b",
    ),
    (
        Kind::Method,
        Person::Any,
        r"\b(?:overdos(?:e|ing)\s+on|overdose\s+with|take\s+(?:all\s+(?:of\s+)?(?:my|the|these|those)|(?:a|an)\s+(?:whole|entire)\s+(?:bottle|box|pack)|(?:them|it)\s+all|everything)\s+(?:\w+\s+)?(?:{PILLS}|at\s+once|together)|tak(?:e|ing)\s+all\s+(?:of\s+)?my\s+(?:\w+\s+)?{PILLS}\s+at\s+once|(?:slit|slitting|cut|cutting|slice|slicing|open|opening)\s+(?:my|your)\s+(?:wrists?|throat|veins?)|bleed(?:ing)?\s+(?:myself\s+)?out|jump(?:ing|ed)?\s+(?:off|from|in\s+front\s+of|infront\s+of|out\s+of|under|into|onto)\s+(?:a|an|the|my|some|this|that)\s+(?:\w+\s+)?(?:bridge|building|cliff|roof|train|car|bus|truck|lorry|window|balcony|tower|car\s+park|parking|river|sea|ocean|height|tracks|traffic|subway|highway|motorway|overpass|ledge)|(?:step|walk|run|throw|jump|drive|driving|crash|crashing|hit|hitting)\w*\s+(?:myself\s+|my\s+(?:car|bike|motorbike|motorcycle)\s+)?(?:in\s+front\s+of|into|off|on|onto)\s+(?:a|an|the|some)\s+(?:\w+\s+)?(?:train|bus|truck|lorry|traffic|oncoming|cliff|bridge|wall|tree|sea|ocean|river|lake)|(?:exhaust|car)\s+fumes|carbon\s+monoxide|hypothermia|noose|(?:hang|hanging)\s+(?:from|with|by)|with\s+a\s+(?:belt|rope|cord))",
    ),
    (
        Kind::Method,
        Person::Any,
        r"\b(?:painless|easy|easiest|quick|quickest|fast|fastest|best|surest|effective|reliable|peaceful|lethal|good|less\s+painful|least\s+painful|clean)\s+{W2}(?:ways?|methods?|suicide|death|dose|option)\s+(?:to\s+(?:die|kill|end|go|commit|do\s+it|suicide)|of\s+(?:dying|suicide|killing|ending|death|doing\s+it)|for\s+(?:suicide|dying))|\b(?:lethal|fatal|deadly|overdose)\s+(?:dose|amount|quantity|level)|\bsuicide\s+(?:methods?|kit|bag|plan|attempt)|\bmethods?\s+(?:of|to|for|on|n)\s+(?:suicide|dying|killing|ending|how)|\bmore\s+methods?\b|\b(?:compar\w*|evaluat\w*|research\w*|look\w*\s+(?:at|into|up))\s+{W2}methods?\b|\b(?:had|have|get|access\s+to|own)\s+(?:the|any)\s+(?:means|firearms?|guns?)\b|\b(?:helium|nitrogen|cyanide|nitrite|asphyx\w*|asohyx\w*|exit\s+bag)\b|\boverdos(?:e|ing)\s*[.!]|\b(?:what|which)\s+(?:\w+\s+)?(?:pills?|meds|drugs?|medications?|method)\s+(?:\w+\s+)?(?:will|would|can|could)\s+(?:\w+\s+)?(?:kill|do\s+the\s+job|work|end)",
    ),
    (
        Kind::Method,
        Person::Any,
        r"\b(?:how\s+(?:many|much)|how\s+long|what\s+would\s+happen|what\s+happens|is|are|would|will|does|do|can|could)\s+(?:\w+\s+){0,6}?(?:{PILLS}|\d+\s*(?:mg|g|milligrams?|grams?|stories|storeys|floors|feet|ft|metres|meters|m)\b|it|this|that|they|them|i)\s+(?:\w+\s+){0,4}?(?:kill\s+(?:me|you|a\s+person|someone)|be\s+(?:enough|lethal|fatal)|enough\s+to\s+(?:die|kill|end)|lethal|fatal|to\s+die|take\s+to\s+(?:die|bleed\s+out)|paralyze|paralyse|do\s+the\s+job|end\s+my\s+life|do\s+anything|do\s+to\s+me|harm\s+me|damage)",
    ),
    (
        Kind::Method,
        Person::Any,
        r"\b(?:how\s+(?:to|can\s+i|do\s+i|would\s+i|could\s+i|should\s+i)|ways?\s+to|where\s+(?:to|can\s+i))\s+(?:\w+\s+)?(?:kill\s+myself|suicide|commit|end\s+(?:it|my\s+life)|die\s+(?:painlessly|quickly|peacefully|without)|overdose|hang\s+myself|od\b)|\bis\s+\d+\s+(?:\w+\s+)?(?:enough|lethal)\b|\b(?:is|are)\s+\w+\s+(?:wrists?|drowning|hanging|jumping|overdosing)\s+painful|\bslitting\s+(?:your|my)\s+wrists?\s+painful",
    ),
    (
        Kind::Method,
        Person::First,
        r"\b(?:think(?:ing)?|thought|imagin\w*|pictur\w*|visuali[sz]\w*|fantasi[sz]\w*|consider\w*|contemplat\w*|dream\w*|obsess\w*|mind\s+(?:keeps\s+)?(?:going|goes|went)\s+to|keep\s+going\s+back\s+to|tempting|tempted)\s+(?:about\s+|of\s+|to\s+)?{W8}(?:{MEANS}|{PILLS}|jump(?:ing)?|hang(?:ing)?|overdos\w*|slit\w*|drown\w*|shoot\w*|crash\w*|cutting\s+(?:my\s+)?(?:wrists?|throat|deep)|bleed\w*\s+out|how\s+i\s+(?:want\s+to|would|will|could)\s+(?:go|die|do\s+it)|how\s+to\s+(?:do\s+it|die)|ways?\s+(?:to|of)\s+(?:die|dying|do\s+it|kill|go))\b",
    ),
    (
        Kind::Method,
        Person::First,
        r"\b(?:look(?:ed|ing)?\s+up|googl\w*|search(?:ed|ing)?(?:\s+for)?|research\w*|read\s+(?:up\s+)?(?:about|on))\s+(?:\w+\s+){0,4}?(?:how\s+(?:high|tall|far|deep|long|many|much)|lethal|overdose|ways\s+to|methods?|the\s+height|painless|suicide|hanging|{MEANS})",
    ),
    // ---- Item 4: intent -------------------------------------------------------------------------
    (
        Kind::Intent,
        Person::Any,
        r"(?:\b(?:i'?m|i\s+am|im|i'll|i\s+will|ill|i\s+shall|i'd|i|so\s+i\s+can)\s+(?:\w+\s+){0,2}?(?:going\s+to|gonna|goin\s+to|about\s+to|ready\s+to|planning\s+(?:on|to)|plan\s+to|intend\s+to|decided\s+to|determined\s+to|will|finally|definitely|actually|really\s+going\s+to|have\s+to|need\s+to|must)|(?:^|[.!?]\s*)(?:going\s+to|gonna|about\s+to|planning\s+to|planning\s+on))\s+(?:\w+\s+){0,2}?(?:kill(?:ing)?\s+myself|end(?:ing)?\s+(?:it|my\s+life|things|everything|it\s+all|myself)|do(?:ing)?\s+it|die|commit(?:ting)?|tak(?:e|ing)\s+my\s+(?:own\s+)?life|jump(?:ing)?|hang(?:ing)?\s+myself|overdos\w*|go(?:ing)?\s+through\s+with\s+it|off(?:ing)?\s+myself|shoot(?:ing)?\s+myself|suicide|game\s*-?\s*end|try\s+again|let\s+go|(?:take|swallow|overdose\s+on|drink)\s+(?:\w+\s+){0,3}?(?:\d+|all|a\s+(?:whole\s+)?bottle|the\s+whole|every)\b)\b",
    ),
    (
        Kind::Intent,
        Person::Any,
        r"\b(?:kill(?:ing)?\s+myself|end(?:ing)?\s+(?:it|my\s+life|it\s+all|myself)|do(?:ing)?\s+it|commit(?:ting)?(?:\s+suicide)?|suicide|jump(?:ing)?|hang(?:ing)?\s+myself|overdos\w*|game\s*-?\s*end|die)\s+(?:\w+\s+)?{TIME}\b",
    ),
    (
        Kind::Intent,
        Person::Any,
        r"\b(?:kill(?:ing)?\s+myself|end(?:ing)?\s+(?:it\s+all|my\s+life))\s+if\b|\bif\s+(?:\w+\s+){1,8}(?:i'll|i\s+will|i'm\s+going\s+to|i'm\s+gonna)\s+(?:\w+\s+)?(?:kill\s+myself|end\s+(?:it|my\s+life)|do\s+it)",
    ),
    (
        Kind::Intent,
        Person::First,
        r"\b(?:(?:tonight|today)(?:'s|\s+is)\s+the\s+(?:night|day)|this\s+is\s+(?:the\s+end|goodbye|my\s+goodbye)|(?:my\s+)?last\s+(?:day\s+alive|night\s+alive|words|goodbye)|by\s+the\s+time\s+you\s+(?:read|see)\s+this|goodbye\s+(?:everyone|world|all|forever|cruel)|see\s+you\s+(?:all\s+)?on\s+the\s+other\s+side|(?:i'll|i\s+will|gonna|going\s+to|want\s+to)\s+try\s+again\s+(?:soon|tonight|when|once|this)|never\s+felt\s+(?:so|this)\s+close|this\s+is\s+it\b|the\s+time\s+has\s+come|it's\s+time\s+(?:to\s+go|for\s+me\s+to\s+go))",
    ),
    (
        Kind::Intent,
        Person::First,
        r"\b(?:i'm|i\s+am|im|finally)\s+(?:\w+\s+)?(?:ready|prepared)\s*(?:[.!,]|and\s+i\s+(?:don't|do\s+not)\s+fear|to\s+(?:die|go|end\s+it|do\s+it|let\s+go|leave))|\bdon't\s+fear\s+(?:it|death|dying)\b|\bfor\s+(?:real|good)\s+this\s+time\b",
    ),
    (
        Kind::Intent,
        Person::First,
        r"\b(?:tonight|today|now|gonna|going\s+to|bye|goodbye|time\s+to|ready|it's\s+time)\W+(?:\w+\W+){0,3}?(?:grave-emoji|coffin-emoji|knife-emoji|pills-emoji|rope-emoji|gun-emoji|skull-emoji\s+skull-emoji)|(?:grave-emoji|coffin-emoji|knife-emoji|pills-emoji|rope-emoji|gun-emoji)\W+(?:\w+\W+){0,3}?(?:tonight|today|now|bye|goodbye|soon)\b",
    ),
    (
        Kind::Intent,
        Person::First,
        r"\b(?:i\s+)?(?:want|wanna|going|gonna|will|i'll|need)\s+(?:to\s+)?try\s+(?:it\s+)?again\b",
    ),
    // Indirect intent. Bare forms ("I've decided.", "this is my last week.", "I won't be here
    // tomorrow", "so I can finally rest") are ambiguous: they count only when corroborated
    // (engine `AMBIGUOUS`); "I've decided to quit my job" / "my last week at this company" do not match.
    (
        Kind::Intent,
        Person::First,
        r"\b(?:i've|ive|i\s+have|i)\s+(?:finally\s+|now\s+|already\s+|just\s+)?(?:decided|made\s+up\s+my\s+mind|made\s+(?:my|the|a|this)\s+(?:final\s+)?(?:decision|choice))(?:\s*(?:[.!]|$)|\s+(?:that\s+)?(?:(?:i'm|i\s+am|im)\s+(?:going\s+to|gonna)\s+|i'll\s+|i\s+will\s+|to\s+)(?:just\s+|finally\s+)?(?:die|kill\s+myself|end\s+(?:it|my\s+life|things|everything|it\s+all|myself)|do\s+it|go\s+through\s+with\s+it|take\s+my\s+(?:own\s+)?life|leave\s+this\s+world|commit\s+suicide)\b)|\bmy\s+mind\s+is\s+made\s+up\b",
    ),
    (
        Kind::Intent,
        Person::First,
        r"\bthis\s+(?:is|will\s+be|is\s+going\s+to\s+be)\s+(?:my|the)\s+(?:very\s+)?last\s+(?:post|message|night|day|week|weekend|birthday|christmas|goodbye)(?:\s*(?:[.!,]|$)|\s+(?:alive|on\s+(?:this\s+)?(?:earth|planet)|in\s+this\s+world|of\s+my\s+life|before\s+i\s+(?:go|die|end\s+it|kill\s+myself|leave\s+this\s+world)|you'll\s+(?:ever\s+)?(?:hear|see|get)\s+from\s+me)\b)|\b(?:my\s+)?last\s+(?:day|night|week|post|message)s?\s+(?:alive|on\s+(?:this\s+)?earth|of\s+my\s+life)\b",
    ),
    (
        Kind::Intent,
        Person::First,
        r"\b(?:won't|wont|not(?:\s+going\s+to|\s+gonna)?)\s+be\s+(?:here|around|alive|on\s+this\s+earth)\s+(?:tomorrow|much\s+longer|any\s+longer|for\s+(?:much\s+)?long|by\s+(?:tomorrow|morning|the\s+(?:weekend|end)|next|then|christmas|monday|tuesday|wednesday|thursday|friday|saturday|sunday|my\s+birthday)|next\s+(?:week|month|year)|anymore|after\s+(?:tonight|today|this)|to\s+see\s+(?:it|that|the|my|another|christmas|next))\b",
    ),
    (
        Kind::Intent,
        Person::First,
        r"\bso\s+(?:that\s+)?i\s+(?:can|could|can\s+just|will\s+be\s+able\s+to|i'll\s+be\s+able\s+to)\s+(?:just\s+)?(?:finally\s+(?:just\s+)?(?:(?:do\s+it|go\s+through\s+with\s+it|be\s+(?:free|at\s+peace|gone|done)|rest|disappear|let\s+go|die|end\s+(?:it|things|everything|this))(?:\s*(?:[.!,;]|$)|\s+(?:in\s+peace|forever|for\s+good|and\s+(?:no\s+one|nobody|they|everyone)|without\s+(?:anyone|them|guilt))\b)|kill\s+myself|end\s+(?:it\s+all|my\s+life)|take\s+my\s+(?:own\s+)?life)|(?:kill\s+myself|end\s+(?:it\s+all|my\s+(?:own\s+)?life)|take\s+my\s+(?:own\s+)?life|commit\s+suicide)\b)",
    ),
    (
        Kind::Intent,
        Person::Any,
        r"\b(?:si|suicidal\s+(?:ideation|ideations|thoughts?|feelings|urges)|suicidal|ideation)\s+(?:\w+\s+)?with\s+(?:(?:some|clear|active|strong|high|real)\s+)?(?:intent|intention)\b",
    ),
    // ---- Item 5: plan ---------------------------------------------------------------------------
    (
        Kind::Plan,
        Person::Any,
        r"\b(?:si|suicidal\s+(?:ideation|ideations|thoughts?|feelings|urges)|suicidal|ideation)\s+with\s+(?:(?:intent|intention)\s+and\s+)?(?:a\s+)?(?:(?:specific|clear|concrete|detailed)\s+)?plans?\b",
    ),
    (
        Kind::Plan,
        Person::Any,
        r"\b(?:i\s+(?:have|had|got|'ve\s+got|made|'ve\s+made|came\s+up\s+with)|i've|i'd)\s+{W2}(?:a|my|the)\s+{W2}plan\b|\bi\s+(?:have|had|got|'ve\s+got)\s+(?:multiple|several|a\s+few|many|two|three)\s+plans\b|\b(?:got|have)\s+it\s+(?:all\s+)?figured\s+out\b|\bmy\s+plan\s+(?:is|was|to|for)\b|\bstick\s+(?:with|to)\s+my\s+plan\b|\b(?:i've|i\s+have|i)\s+planned\s+(?:it|for|to|my|out|how|when|everything|the)\b|\b(?:set|picked|chosen|chose|decided\s+on)\s+(?:a|the)\s+(?:date|day|time|place|spot|location)\b|\bi\s+know\s+(?:exactly\s+)?(?:how|when|where)\s+(?:i'll|i\s+will|i'm\s+going\s+to|to\s+do\s+it|i'd\s+do\s+it|i\s+would\s+do\s+it|i'm\s+gonna)",
    ),
    // ---- Item 6: preparation -------------------------------------------------------------------
    (
        Kind::Preparation,
        Person::Any,
        r"\b(?:suicide|goodbye|farewell|final|last)\s+(?:notes?|letters?|messages?|texts?|videos?)\b|\b(?:wrote|written|writing|write|prepared|drafted|draft(?:ing)?|finished|left|leaving)\s+(?:\w+\s+){0,2}?(?:notes|letters)\s+(?:to|for)\s+(?:my|everyone|each|all|the\s+people|family|friends|people\s+i\s+love)|\b(?:wrote|written|writing|finished|left|leaving|prepared|got|drafted)\s+my\s+(?:\w+\s+)?(?:notes?|letters?)\b|\bloose\s+ends\b|\bbag\s+around\s+(?:my\s+)?neck|\bnote\s+(?:is\s+|was\s+)?(?:prepared|ready|written|done)\b|\b(?:got|already\s+got|'ve\s+got|have)\s+(?:the|my)\s+note\b",
    ),
    (
        Kind::Preparation,
        Person::Any,
        r"\b(?:stockpil\w*|hoard\w*|sav(?:ed|ing)\s+up|sav(?:ed|ing)|collect(?:ed|ing)|stash\w*|stor(?:ed|ing)|gather(?:ed|ing)|squirrel\w*\s+away|been\s+saving)\s+(?:\w+\s+){0,3}?{PILLS}|{PILLS}\s+(?:\w+\s+){0,3}?(?:saved\s+up|stockpiled|stashed|hoarded|i've\s+been\s+saving)|\bhave\s+enough\s+(?:now|pills|tablets|meds|to\s+(?:die|do\s+it|kill|end))|\bstockpil\w*",
    ),
    (
        Kind::Preparation,
        Person::First,
        r"\b(?:bought|buying|ordered|ordering|purchased|purchasing|got\s+(?:myself\s+)?|get|getting|obtained|acquired|picked\s+up|found)\s+(?:\w+\s+){0,2}?(?:a\s+|the\s+|some\s+)?(?:rope|noose|gun|firearm|rifle|shotgun|pistol|helium|nitrogen|sodium\s+nitrite|nitrite|charcoal|razor\s*blades?|exit\s+bag)\b|\b(?:tied|tying|made|making|tested|testing|hung|hanging\s+up)\s+(?:a|the|my)\s+(?:noose|rope|knot|belt)\b|\b(?:noose|rope)\s+(?:is\s+)?(?:ready|tied|hanging|up)\b",
    ),
    (
        Kind::Preparation,
        Person::First,
        r"\bgiv(?:e|en|ing)\s+(?:\w+\s+)?away\s+(?:all\s+)?(?:of\s+)?(?:my\s+)?(?:things|stuff|belongings|possessions|clothes|games|books|pets?|cat|dog|savings|money|everything)|\bgave\s+(?:\w+\s+)?away\s+(?:all\s+)?(?:my|everything)|\b(?:got|have|put|getting)\s+(?:all\s+)?(?:my\s+)?affairs\s+in\s+order|\b(?:made|making|wrote|writing|updated)\s+(?:a|my)\s+will\b|\b(?:got|have)\s+everything\s+(?:ready|sorted|planned|prepared)|\beverything\s+is\s+(?:ready|prepared|in\s+place)\b|\bsaid\s+(?:my\s+)?goodbyes?\b|\bsaying\s+(?:my\s+)?goodbyes?\b",
    ),
    (
        Kind::Preparation,
        Person::First,
        r"\b(?:research\w*|look(?:ed|ing)\s+up|googl\w*|search(?:ed|ing))\s+(?:\w+\s+){0,2}?(?:how\s+many|how\s+much|lethal\s+dose|the\s+lethal|overdose\s+amounts?)\s+(?:\w+\s+)?(?:{PILLS})",
    ),
    (
        Kind::Preparation,
        Person::First,
        r"\b(?:plann?(?:ed|ing)|arrang(?:ed|ing)|organi[sz](?:ed|ing)|pa(?:id|ying)\s+for|pre-?pa(?:id|ying)(?:\s+for)?|sort(?:ed|ing)(?:\s+out)?|finali[sz](?:ed|ing)|chose|chosen|choosing|picked(?:\s+out)?)\s+(?:\w+\s+)?my\s+(?:own\s+)?(?:funeral|burial|cremation|headstone|casket|coffin)\b|\bmy\s+(?:own\s+)?funeral\s+arrangements\b|\b(?:chose|chosen|choosing|picked|picking)\s+(?:\w+\s+){0,2}?(?:music|songs?|playlist|hymns?)\s+for\s+my\s+(?:own\s+)?funeral\b",
    ),
    // ---- Item 6: behaviour (graded by when) ----------------------------------------------------
    (
        Kind::Behaviour,
        Person::Any,
        r"\b(?:tried|attempted|attempting|try(?:ing)?\s+to)\s+(?:[\w']+\s+){0,5}?(?:to\s+|by\s+)?(?:kill(?:ing)?\s+myself|stab\w*\s+myself|cut\w*\s+my\s+(?:wrists?|throat)|suicide|end(?:ing)?\s+(?:it|my\s+life|myself|things|it\s+all)|tak(?:e|ing)\s+my\s+(?:own\s+)?life|overdos\w*|hang(?:ing)?(?:\s+myself)?|jump\w*|drown\w*|die|off\s+myself|commit|suffocat\w*|slit\w*|shoot\w*)\b|\b(?:my|last|previous|first|second|third|failed|suicide|an|actual|unsuccessful|\d+)\s+(?:suicide\s+|actual\s+)?attempts?\b|\battempted(?:\s+suicide)?\s+(?:\w+\s+)?(?:twice|once|before|\d+\s+times|several|many|multiple|again)\b",
    ),
    (
        Kind::Behaviour,
        Person::Any,
        r"\b(?:took|taken|swallowed|downed|chugged|drank|ate|popped|overdosed\s+on|od\s+on)\s+(?:\w+'?s?\s+){0,3}?(?:\d+\+?|all|a\s+(?:whole|full|entire)\s+(?:bottle|box|pack|packet|strip)|(?:a|the)\s+(?:bottle|box|pack|packet|load|handful|bunch|lot)|(?:bottle|box|pack|packet|load|handful)s?|lots|loads|a\s+lot|too\s+many|every|the\s+rest|half|some|several|enough|way\s+too)\s+(?:\w+'?s?\s+){0,4}?{PILLS}|\b(?:i\s+)?overdosed\b|\b(?:took|taken|tried|swallowed|downed)\s+(?:\w+\s+){0,2}?\d+(?:\s*-\s*\d+)?\s*(?:x\s*\d+\s*)?(?:mg|g|x|pills|tablets|grams)\b|\bi\s+(?:have\s+|had\s+|already\s+)?attempted\b|\boverdose\s+(?:attempt|last|yesterday|a\s+few)|\b(?:hung|hanged)\s+myself|\bjumped\s+(?:off|from|in\s+front\s+of|infront\s+of)|\b(?:i\s+)?tried(?:\s+and|,?\s+but)\s+(?:i\s+)?failed\b|\btie\s+it\s+(?:tight|tightly)\s+enough|\b(?:almost|nearly)\s+(?:killed\s+myself|did\s+it|jumped|went\s+through|ended\s+it)|\b(?:talked|pulled)\s+(?:me\s+)?(?:out\s+of\s+it|me\s+down|off\s+the\s+(?:ledge|bridge|edge))|\bopened\s+the\s+window\s+(?:\w+\s+){0,4}?(?:to\s+)?(?:jump|try)|\b(?:survived|woke\s+up\s+after)\s+(?:my|an|the|a)\s+(?:\w+\s+)?(?:attempt|overdose)|\b(?:hospitali[sz]ed|sectioned|admitted|in\s+the\s+(?:er|icu|a&e|psych\s+ward))\s+(?:\w+\s+){0,3}?(?:after|for|because\s+of)\s+(?:\w+\s+){0,2}?(?:attempt|overdose|suicid\w*|od)|\b(?:walked|walk|stood|standing|went)\s+(?:\w+\s+){0,2}?(?:over|on|onto|to)\s+the\s+(?:tracks|ledge|edge\s+of)",
    ),
    // ---- someone else's behaviour: only counts if they are in imminent danger ------------------
    (
        Kind::Behaviour,
        Person::Third,
        r"\b(?:kill(?:s|ed|ing)?|hang(?:s|ed|ing)?|shoot(?:s|ing)?|end(?:s|ed|ing)?|hurt(?:s|ing)?|cut(?:s|ting)?|off(?:s|ed)?|harm(?:s|ing)?|overdos\w*)\s+(?:him|her|them)sel(?:f|ves)\b|\b(?:take|takes|took|taken|taking|end|ends|ended|ending)\s+(?:his|her|their)\s+(?:own\s+)?li(?:fe|ves)\b|\b(?:taken|took|swallowed|downed)\s+(?:\w+\s+){0,3}?(?:his|her|their)\s+(?:\w+\s+)?{PILLS}",
    ),
    // ---- attempt in progress / imminent -----------------------------------------------------------
    (
        Kind::Acute,
        Person::First,
        r"\b(?:knife|blade|razor|gun|pistol|pills|rope|noose|bottle)\s+(?:is\s+)?(?:in\s+my\s+hand|in\s+hand|to\s+my\s+(?:head|throat|wrist)|in\s+my\s+mouth|around\s+my\s+neck|next\s+to\s+me|in\s+front\s+of\s+me|ready\s+(?:beside|next\s+to)\s+me|loaded)|\b(?:holding|have|got)\s+(?:a|the|my)\s+(?:knife|blade|razor|gun|pistol|rope|noose|pills)\s+(?:in\s+my\s+hand|right\s+now|to\s+my|against\s+my)|\b(?:standing|sitting|stood|i'm|i\s+am|im)\s+(?:\w+\s+)?(?:on|at|on\s+top\s+of|at\s+the\s+edge\s+of)\s+(?:the|a)\s+(?:bridge|ledge|edge|roof|rooftop|railing|tracks|cliff|platform\s+edge)|\bengine\s+(?:is\s+)?running\b|\b(?:rope|belt|noose|cord)\s+(?:is\s+)?around\s+my\s+neck|\bbleeding\s+(?:out|heavily|so\s+much|a\s+lot|everywhere)|\bit's\s+dripping|\b(?:overdosing|bleeding\s+out|hanging\s+myself|dying)\s+(?:right\s+now|as\s+(?:i|we)\s+speak|now)\b|\b(?:i'm|im|i\s+am)\s+(?:currently\s+)?overdosing\b|\bsitting\s+(?:next\s+to|under|by)\s+(?:the|a)\s+(?:tree|bridge|tracks)|\bjust\s+waiting\s+now\b|\bcan't\s+stop\s+the\s+bleeding|\babout\s+to\s+(?:jump|do\s+it|take\s+(?:them|the\s+pills|it\s+all)|swallow|pull\s+the\s+trigger|cut|slit|end\s+it|kill\s+myself|hang)|\b(?:with|have)\s+(?:only\s+)?a\s+lighter\s+(?:\w+\s+){0,4}?(?:gas|petrol|gasoline)",
    ),
    (
        Kind::Acute,
        Person::Any,
        r"\b(?:just|already)\s+(?:took|taken|swallowed|drank|downed|overdosed|cut|slit|chugged)\b|\b(?:took|taken|swallowed|drank|downed|chugged)\s+(?:\w+\s+){0,6}?(?:an?\s+hour|\d+\s+(?:minutes?|mins?|hours?)|a\s+(?:few|couple\s+of)\s+(?:minutes|mins|hours))\s+ago\b|\b(?:i've|i\s+have)\s+(?:taken|swallowed|drunk)\s+(?:\w+\s+){0,4}?{PILLS}",
    ),
    (
        Kind::Acute,
        Person::First,
        r"\b(?:i'm|im|i\s+am)\s+(?:just\s+|now\s+)?(?:taking|swallowing|downing)\s+(?:as\s+many\s+(?:{PILLS}\s+)?as\s+i\s+can|all\s+(?:of\s+)?(?:my|the|these)\s+{PILLS}|the\s+whole\s+(?:bottle|box|pack))",
    ),
    // ---- self-harm -------------------------------------------------------------------------------
    (
        Kind::SelfHarm,
        Person::First,
        r"\b(?:cut|cutting|cuts|burn|burning|burned|burnt|scratch(?:ed|ing)?|hit(?:ting)?|punch(?:ed|ing)?|harm(?:ed|ing)?|hurt(?:ing)?|carv(?:e|ed|ing)|slash(?:ed|ing)?|bang(?:ed|ing)?)\s+(?:into\s+)?(?:myself|my\s+(?:arms?|wrists?|legs?|thighs?|skin|stomach|hips?|body|head))\b|\bself-harm\w*|\bself\s+injur\w*|\b(?:relapsed?|relapsing|clean\s+from|urges?\s+to|urge\s+to|started)\s+(?:on\s+)?(?:sh|cutting|self-harm\w*)\b|\bmy\s+(?:scars|cuts|fresh\s+cuts)\b|\bcutting\s+(?:again|deeper|every)\b|\bi\s+cut\s+(?:until|till|til)\b|\bicut\b",
    ),
    (
        Kind::SelfHarmSevere,
        Person::First,
        r"\b(?:cut|cuts|cutting|slit|sliced|slashed|gash)\b(?:\s+[\w']+){0,14}?\s+(?:stitches|deep\s+enough|stiches|sutures|to\s+the\s+bone|fat\s+layer|dripping|gaping|won't\s+stop\s+bleeding|wouldn't\s+stop\s+bleeding|bleeding\s+(?:a\s+lot|heavily|badly)|(?:extremely|really|very|so)\s+(?:bad|deep))\b|\b(?:too|so|really|very|extremely)\s+deep\b",
    ),
    // ---- only meaningful with earlier risk in the conversation ------------------------------------
    (
        Kind::Means,
        Person::Any,
        r"\b(?:how\s+(?:high|tall|far|deep|many|much|long)|{MEANS}|{PILLS}|the\s+car\s+and\s+the\s+garage|lethal|painless|enough\s+to)\b",
    ),
    (
        Kind::Veiled,
        Person::First,
        r"\b(?:i'?m|i\s+am|im|i'll|i\s+will|gonna|going\s+to)\s+(?:\w+\s+)?(?:do(?:ing)?\s+it|go(?:ing)?\s+through\s+with\s+it|end(?:ing)?\s+it)\b|\b(?:tonight|today)\b|\bgoodbye\b|\bbye\s+(?:everyone|all|guys)\b|\bit'?s\s+time\b|\bwon't\s+be\s+(?:here|around)\b|\bno\s+more\s+pain\b|\bfinally\s+(?:free|at\s+peace|over)\b",
    ),
    (
        Kind::Distress,
        Person::First,
        r"\b(?:hate\s+(?:myself|my\s+life|being\s+alive|living)|(?:i'm|i\s+am|im|feel)\s+(?:so\s+|fucking\s+|completely\s+)?(?:useless|worthless|hopeless|a\s+failure|a\s+waste|pathetic|done|empty|numb|trapped)|no\s+(?:future|hope|way\s+out)|(?:so\s+)?(?:sick\s+and\s+)?tired\s+of\s+(?:everything|it\s+all|this)|nothing\s+(?:matters|will\s+change|ever\s+works)|(?:given|giving)\s+up|no\s+one\s+(?:cares|would\s+(?:even\s+)?(?:care|notice|miss\s+me)|loves\s+me)|nobody\s+(?:cares|would\s+(?:even\s+)?(?:care|notice|miss\s+me)|loves\s+me)|lost\s+everything|too\s+much\s+for\s+me|can't\s+(?:anymore|take\s+it)|what's\s+(?:even\s+)?the\s+point|end\s+the\s+pain|(?:so|really)\s+scared|goodbye|(?:don't|dont|do\s+not)\s+(?:even\s+|really\s+)?care\s+(?:about\s+anything\s+)?any\s*more|(?:this|it|that)\s+(?:isn't|isnt|is\s+not|ain't)\s+(?:a\s+)?(?:life|living)|no\s+way\s+to\s+live|no\s+point\s+(?:in\s+)?(?:anything|anymore|any\s+more)|nothing\s+to\s+look\s+forward\s+to)\b",
    ),
];

/// The compiled lexicon.
pub struct Lexicon {
    /// One-pass prefilter over all cues.
    pub set: RegexSet,
    /// The cues, indexed like `set`.
    pub cues: Vec<Cue>,
}

/// Expands placeholders and makes `\b` ASCII-only.
pub fn expand(pattern: &str) -> String {
    let mut p = pattern.to_owned();
    // Placeholders may contain other placeholders; two rounds suffice.
    for _ in 0..2 {
        for (k, v) in PLACEHOLDERS {
            p = p.replace(k, v);
        }
    }
    // ASCII word classes keep the automata small and fast; the text is already lowercased.
    p.replace(r"\b", r"(?-u:\b)").replace(r"\w", "[0-9a-z_]")
}

/// Size limit for compiled patterns (the lexicon is large but compiled once).
const SIZE_LIMIT: usize = 64 << 20;

/// Compiles an expanded pattern.
#[allow(clippy::expect_used, reason = "patterns are compile-time constants, covered by tests")]
pub fn compile(pattern: &str) -> Regex {
    regex::RegexBuilder::new(&expand(pattern))
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(SIZE_LIMIT)
        .build()
        .expect("patterns are compile-time constants")
}

/// The lexicon, compiled once.
#[allow(clippy::expect_used, reason = "patterns are compile-time constants, covered by tests")]
pub static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    let pats: Vec<String> = CUES.iter().map(|(_, _, p)| expand(p)).collect();
    let cues = CUES
        .iter()
        .zip(&pats)
        .map(|(&(kind, person, _), p)| Cue {
            kind,
            person,
            re: regex::RegexBuilder::new(p)
                .size_limit(SIZE_LIMIT)
                .dfa_size_limit(SIZE_LIMIT)
                .build()
                .expect("lexicon patterns are compile-time constants"),
        })
        .collect();
    Lexicon {
        set: regex::RegexSetBuilder::new(&pats)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .build()
            .expect("lexicon patterns are compile-time constants"),
        cues,
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicon_compiles() {
        assert_eq!(LEXICON.cues.len(), CUES.len());
    }
}
