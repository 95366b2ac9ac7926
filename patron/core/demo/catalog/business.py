"""Demo reference data: the shop, its users and products, people's and companies' attributes."""

from __future__ import annotations

SHOP_HOST = "https://shop.brightbean.example"

# --- users --------------------------------------------------------------------------------

TEAM_AMERICAS = "Sales – Americas"
TEAM_EUROPE = "Sales – Europe"

# (username, first, last, role key, team or None)
USERS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("maya.okafor", "Maya", "Okafor", "manager", None),
    ("jake.turner", "Jake", "Turner", "sales", TEAM_AMERICAS),
    ("priya.raman", "Priya", "Raman", "sales", TEAM_AMERICAS),
    ("lena.hoffmann", "Lena", "Hoffmann", "sales", TEAM_EUROPE),
    ("tom.bakker", "Tom", "Bakker", "sales", TEAM_EUROPE),
    ("chloe.martin", "Chloé", "Martin", "marketing", None),
    ("diego.santos", "Diego", "Santos", "support", None),
)

# --- products ----------------------------------------------------------------------------

# (sku, name, category, USD price)
PRODUCTS: tuple[tuple[str, str, str, str], ...] = (
    ("BN-ETH-250", "Ethiopia Yirgacheffe 250 g", "Beans", "16.50"),
    ("BN-COL-250", "Colombia Huila 250 g", "Beans", "14.00"),
    ("BN-KEN-250", "Kenya AA 250 g", "Beans", "17.50"),
    ("BN-GUA-250", "Guatemala Antigua 250 g", "Beans", "14.50"),
    ("BN-CRI-250", "Costa Rica Tarrazú 250 g", "Beans", "15.00"),
    ("BN-RWA-250", "Rwanda Nyamasheke 250 g", "Beans", "16.00"),
    ("BN-SUM-250", "Sumatra Mandheling 250 g", "Beans", "14.50"),
    ("BN-DEC-250", "Decaf Swiss Water 250 g", "Beans", "13.50"),
    ("BN-ESP-250", "House Espresso Blend 250 g", "Beans", "12.50"),
    ("BN-ESP-1K", "House Espresso Blend 1 kg", "Beans", "39.00"),
    ("BN-BRA-1K", "Brazil Santos 1 kg", "Beans", "34.00"),
    ("BN-CLD-500", "Cold Brew Blend 500 g", "Beans", "21.00"),
    ("EQ-GRD-PRO", "Burr Grinder Pro", "Equipment", "249.00"),
    ("EQ-GRD-HND", "Hand Grinder", "Equipment", "89.00"),
    ("EQ-ESP-DUO", "Espresso Machine Duo", "Equipment", "699.00"),
    ("EQ-KTL-GSN", "Gooseneck Pour-Over Kettle", "Equipment", "79.00"),
    ("EQ-FRP-1L", "French Press 1 L", "Equipment", "39.00"),
    ("EQ-AER-001", "AeroPress", "Equipment", "44.00"),
    ("EQ-MOK-6C", "Moka Pot 6-cup", "Equipment", "35.00"),
    ("EQ-CLD-MKR", "Cold Brew Maker", "Equipment", "49.00"),
    ("EQ-MLK-FRT", "Milk Frother", "Equipment", "69.00"),
    ("AC-FLT-100", "V60 Paper Filters (100)", "Accessories", "7.50"),
    ("AC-V60-02", "V60 Dripper 02", "Accessories", "24.00"),
    ("AC-SCL-DIG", "Digital Brew Scale", "Accessories", "59.00"),
    ("AC-TMP-58", "Tamper 58 mm", "Accessories", "32.00"),
    ("AC-MUG-TRV", "Travel Mug", "Accessories", "28.00"),
    ("AC-CUP-SET", "Ceramic Cup Set (4)", "Accessories", "42.00"),
    ("AC-CLN-TAB", "Cleaning Tablets (60)", "Accessories", "12.00"),
    ("SB-BNS-MON", "Beans Subscription – Monthly", "Subscriptions", "29.00"),
    ("SB-BNS-BIW", "Beans Subscription – Biweekly", "Subscriptions", "54.00"),
    ("SB-OFF-TEAM", "Office Coffee Plan – Team", "Subscriptions", "149.00"),
    ("SB-OFF-BIZ", "Office Coffee Plan – Business", "Subscriptions", "499.00"),
    ("GF-CRD-25", "Gift Card 25", "Gifts", "25.00"),
    ("GF-CRD-50", "Gift Card 50", "Gifts", "50.00"),
    ("GF-TST-SET", "Tasting Set (6 origins)", "Gifts", "45.00"),
)

# --- people and companies ----------------------------------------------------------------

LIFECYCLE_PROSPECT = (
    ("subscriber", 28),
    ("lead", 38),
    ("mql", 15),
    ("sql", 11),
    ("opportunity", 8),
)
SOURCES = (
    ("website", 30),
    ("shop checkout", 18),
    ("newsletter signup", 12),
    ("google ads", 9),
    ("referral", 7),
    ("trade show", 7),
    ("webinar", 6),
    ("linkedin", 5),
    ("partner", 3),
    ("import", 3),
)
WEB_SOURCES = frozenset({"website", "shop checkout", "newsletter signup", "google ads", "referral"})
TAGS = (
    ("vip", "#b45309"),
    ("newsletter", "#0369a1"),
    ("webinar-2025", "#7c3aed"),
    ("trade-show", "#0f766e"),
    ("wholesale", "#be123c"),
    ("barista", "#a16207"),
    ("beta-tester", "#4338ca"),
    ("gift-buyer", "#db2777"),
    ("churn-risk", "#dc2626"),
    ("partner", "#15803d"),
)
INDUSTRIES = (
    "Software",
    "Professional services",
    "Retail",
    "Hospitality",
    "Manufacturing",
    "Healthcare",
    "Financial services",
    "Education",
    "Media",
    "Logistics",
    "Real estate",
    "Architecture",
    "Legal",
    "Non-profit",
)
COMPANY_SIZES = (
    ("1-10", 2, 10, 30),
    ("11-50", 11, 50, 32),
    ("51-200", 51, 200, 20),
    ("201-500", 201, 500, 9),
    ("501-1000", 501, 1000, 5),
    ("1001-5000", 1001, 5000, 3),
    ("5001+", 5001, 40000, 1),
)
COMPANY_ROLES = (
    ("Decision maker", 20),
    ("Champion", 15),
    ("Office manager", 20),
    ("Billing contact", 12),
    ("User", 25),
    ("Procurement", 8),
)
JOB_TITLES = {
    "en": (
        "Office Manager",
        "Head of Operations",
        "Operations Manager",
        "CEO",
        "Founder",
        "COO",
        "CFO",
        "HR Manager",
        "People & Culture Lead",
        "Facilities Manager",
        "Procurement Manager",
        "Executive Assistant",
        "Head of Marketing",
        "Marketing Manager",
        "Software Engineer",
        "Product Manager",
        "Account Manager",
        "Workplace Experience Manager",
        "Managing Director",
        "Finance Manager",
    ),
    "de": (
        "Geschäftsführerin",
        "Geschäftsführer",
        "Office Managerin",
        "Leiter Einkauf",
        "Teamassistenz",
        "Personalreferentin",
        "Facility Manager",
        "Head of Operations",
        "Softwareentwickler",
        "Vertriebsleiterin",
    ),
    "fr": (
        "Directrice générale",
        "Directeur administratif",
        "Office manager",
        "Responsable des achats",
        "Assistante de direction",
        "Responsable RH",
        "Chef de projet",
        "Directeur commercial",
        "Ingénieur logiciel",
    ),
    "es": (
        "Directora general",
        "Director de operaciones",
        "Office manager",
        "Responsable de compras",
        "Asistente de dirección",
        "Responsable de RR. HH.",
        "Jefe de proyecto",
        "Director comercial",
    ),
    "nl": (
        "Directeur",
        "Officemanager",
        "Inkoper",
        "Managementassistent",
        "HR-adviseur",
        "Facilitair manager",
        "Projectleider",
        "Accountmanager",
        "Softwareontwikkelaar",
    ),
}
CONSUMER_JOBS = (
    "Teacher",
    "Nurse",
    "Designer",
    "Student",
    "Engineer",
    "Barista",
    "Photographer",
    "Consultant",
    "Architect",
    "Writer",
    "Pharmacist",
    "Developer",
    "Chef",
    "Retired",
)
LEGAL_SUFFIXES = (
    "inc",
    "llc",
    "ltd",
    "plc",
    "gmbh",
    "ag",
    "kg",
    "co",
    "sa",
    "sarl",
    "sas",
    "sl",
    "bv",
    "nv",
    "and",
    "und",
    "et",
    "y",
    "e",
    "hnos",
)
