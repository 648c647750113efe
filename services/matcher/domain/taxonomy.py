"""The shipped skill taxonomy: canonical workplace skills and the aliases people type for them."""

import re
from collections.abc import Mapping
from types import MappingProxyType

# canonical skill -> aliases (the canonical name is an alias of itself)
_SKILLS: dict[str, tuple[str, ...]] = {
    "leadership": ("leading", "leader", "leading people", "team leadership", "leading a team", "lead a team"),
    "people management": ("managing people", "line management", "management", "managing a team", "team management"),
    "coaching": ("coaching others", "mentoring", "mentorship"),
    "strategy": ("strategic thinking", "business strategy", "strategic planning"),
    "decision making": ("decisions", "making decisions"),
    "change management": ("leading change", "managing change", "transformation"),
    "project management": ("pm", "managing projects", "project delivery", "pmp", "prince2"),
    "product management": ("product", "product manager", "product ownership", "product owner"),
    "agile": ("scrum", "kanban", "agile methods", "agile delivery"),
    "stakeholder management": ("managing stakeholders", "stakeholders", "stakeholder engagement"),
    "negotiation": ("negotiating", "negotiations"),
    "public speaking": ("presenting", "presentation skills", "presentations", "speaking", "keynotes"),
    "storytelling": ("narrative", "story telling"),
    "business writing": ("writing", "written communication", "copywriting", "report writing"),
    "communication": ("communication skills", "communicating", "interpersonal skills"),
    "feedback": ("giving feedback", "receiving feedback", "difficult conversations"),
    "conflict resolution": ("conflict management", "resolving conflict", "mediation"),
    "emotional intelligence": ("eq", "ei", "empathy"),
    "time management": ("prioritisation", "prioritization", "productivity", "managing time"),
    "networking": ("building networks", "building relationships", "relationship building"),
    "personal branding": ("personal brand", "linkedin", "self promotion"),
    "career development": ("career planning", "career growth", "career progression"),
    "diversity and inclusion": ("d&i", "dei", "inclusion", "diversity", "inclusive leadership", "edi"),
    "wellbeing": ("well-being", "resilience", "mental health", "stress management", "work life balance"),
    "remote work": ("hybrid work", "remote collaboration", "working remotely", "remote teams"),
    "social media": ("smm", "social media marketing", "social", "social networks", "social-media marketing"),
    "digital marketing": ("online marketing", "performance marketing", "growth marketing"),
    "content creation": ("content", "content marketing", "video editing", "blogging"),
    "seo": ("search engine optimisation", "search engine optimization", "sem"),
    "marketing": ("brand marketing", "branding", "brand management"),
    "sales": ("selling", "business development", "bizdev", "biz dev"),
    "customer experience": ("cx", "customer service", "customer success", "client relations"),
    "finance": ("financial literacy", "corporate finance", "accounting", "budgeting"),
    "financial modelling": ("financial modeling", "excel modelling", "forecasting"),
    "data analysis": ("data analytics", "analytics", "analysing data", "analyzing data", "excel"),
    "data visualisation": ("data visualization", "dataviz", "dashboards", "tableau", "power bi"),
    "data science": ("statistics", "predictive modelling", "predictive modeling"),
    "machine learning": ("ml", "deep learning", "ai models"),
    "artificial intelligence": ("ai", "generative ai", "genai", "gen ai", "prompt engineering", "llms", "chatgpt"),
    "python": ("python programming", "python3", "py"),
    "sql": ("databases", "querying", "postgres", "mysql"),
    "software engineering": ("programming", "coding", "software development", "development"),
    "cloud computing": ("cloud", "aws", "azure", "gcp", "google cloud"),
    "cybersecurity": ("cyber security", "information security", "infosec", "security"),
    "devops": ("dev ops", "ci cd", "continuous delivery", "site reliability", "sre"),
    "ux design": ("ux", "user experience", "design thinking", "ui design", "ui ux", "ux ui"),
    "user research": ("customer research", "usability testing", "ux research"),
    "digital literacy": ("digital skills", "tech skills", "technology basics", "using new tools"),
    "automation": ("process automation", "rpa", "no code", "low code", "workflow automation"),
    "innovation": ("creativity", "creative thinking", "ideation"),
    "problem solving": ("critical thinking", "analytical thinking", "root cause analysis"),
    "operations": ("operations management", "process improvement", "lean", "six sigma", "continuous improvement"),
    "supply chain": ("logistics", "procurement", "purchasing", "sourcing"),
    "risk management": ("risk", "compliance", "governance", "regulatory"),
    "legal": ("contracts", "contract law", "employment law"),
    "hr": ("human resources", "people operations", "people ops", "talent"),
    "recruiting": ("recruitment", "hiring", "interviewing", "talent acquisition"),
    "learning and development": ("l&d", "training", "facilitation", "workshop facilitation"),
    "sustainability": ("esg", "climate", "green", "environmental sustainability", "csr"),
    "languages": ("foreign languages", "language learning"),
    "gen z perspectives": ("younger generation", "gen z", "generational insight", "youth culture"),
    "executive presence": ("gravitas", "presence", "boardroom presence"),
}

_PUNCT = re.compile(r"[\s\-_/.,;:'\"()!?]+")


def clean(name: str) -> str:
    """Lowercase, with punctuation and runs of whitespace folded into single spaces."""
    return _PUNCT.sub(" ", name.casefold()).strip()


def _build() -> dict[str, str]:
    table: dict[str, str] = {}
    for skill, aliases in _SKILLS.items():
        for alias in (skill, *aliases):
            key = clean(alias)
            if key in table and table[key] != skill:
                raise ValueError(f"alias {alias!r} claimed by {table[key]!r} and {skill!r}")
            table[key] = skill
    return table


ALIASES: Mapping[str, str] = MappingProxyType(_build())
SKILLS: tuple[str, ...] = tuple(_SKILLS)


def normalise_skill(name: str, extra_aliases: Mapping[str, str] = MappingProxyType({})) -> str:
    """The canonical skill for `name`. Program aliases win over the shipped ones and may point at
    a shipped alias; unknown skills come back cleaned (lowercase, single-spaced)."""
    key = clean(name)
    if extra_aliases:
        extra = {clean(k): clean(v) for k, v in extra_aliases.items()}
        key = extra.get(key, key)
    return ALIASES.get(key, key)


def alias_table(extra_aliases: Mapping[str, str] | None = None) -> dict[str, str]:
    """A flat cleaned-alias -> skill table with the program's aliases applied, for bulk lookups."""
    table = dict(ALIASES)
    for alias, target in (extra_aliases or {}).items():
        table[clean(alias)] = normalise_skill(target)
    return table
