"""Static reference data for the demo generator: places, products, names, texts.

The demo business is "Brightbean", a coffee roaster selling beans, brewing equipment and
office coffee plans to consumers and companies in six countries.

Every email and web domain ends in ``.example`` (reserved by RFC 2606), so demo data can
never reach a real mailbox or website. Phone numbers are random but valid numbers of the
right city, as real data would have them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class City:
    name: str
    region: str
    tz: str
    area_codes: tuple[str, ...]
    postcode_prefixes: tuple[str, ...]


@dataclass(frozen=True)
class Country:
    code: str
    locale: str
    language: str
    weight: float
    currency: str
    tax_rate: Decimal
    phone_length: int  # digits of the national significant number
    mobile_prefixes: tuple[str, ...]
    mail_domains: tuple[str, ...]
    cities: tuple[City, ...]


def _c(name: str, region: str, tz: str, areas: str, prefixes: str) -> City:
    return City(name, region, tz, tuple(areas.split()), tuple(prefixes.split()))


NY, CHI, DEN, PHX, LA = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
)

COUNTRIES: tuple[Country, ...] = (
    Country(
        "US",
        "en_US",
        "en",
        0.34,
        "USD",
        Decimal("0.07"),
        10,
        (),
        ("gmail.example", "yahoo.example", "outlook.example", "icloud.example", "aol.example"),
        (
            _c("New York", "NY", NY, "212 646 718 917", "NY"),
            _c("Los Angeles", "CA", LA, "213 310 323 818", "CA"),
            _c("Chicago", "IL", CHI, "312 773 872", "IL"),
            _c("Houston", "TX", CHI, "713 832 281", "TX"),
            _c("San Francisco", "CA", LA, "415 628", "CA"),
            _c("Seattle", "WA", LA, "206", "WA"),
            _c("Boston", "MA", NY, "617 857", "MA"),
            _c("Austin", "TX", CHI, "512 737", "TX"),
            _c("Denver", "CO", DEN, "303 720", "CO"),
            _c("Atlanta", "GA", NY, "404 470 678", "GA"),
            _c("Philadelphia", "PA", NY, "215 267", "PA"),
            _c("Phoenix", "AZ", PHX, "602 480", "AZ"),
            _c("Miami", "FL", NY, "305 786", "FL"),
            _c("Portland", "OR", LA, "503 971", "OR"),
            _c("Minneapolis", "MN", CHI, "612 952", "MN"),
            _c("Nashville", "TN", CHI, "615 629", "TN"),
            _c("San Diego", "CA", LA, "619 858", "CA"),
            _c("Charlotte", "NC", NY, "704 980", "NC"),
        ),
    ),
    Country(
        "GB",
        "en_GB",
        "en",
        0.2,
        "GBP",
        Decimal("0.20"),
        10,
        ("74", "75", "77", "78", "79"),
        ("gmail.example", "hotmail.example", "btinternet.example", "sky.example"),
        (
            _c("London", "Greater London", "Europe/London", "20", "EC1A SW1A N1 E2 SE1 W1D NW3"),
            _c("Manchester", "Greater Manchester", "Europe/London", "161", "M1 M4 M14 M20"),
            _c("Birmingham", "West Midlands", "Europe/London", "121", "B1 B15 B29"),
            _c("Leeds", "West Yorkshire", "Europe/London", "113", "LS1 LS6 LS11"),
            _c("Glasgow", "Glasgow City", "Europe/London", "141", "G1 G3 G12"),
            _c("Edinburgh", "City of Edinburgh", "Europe/London", "131", "EH1 EH3 EH10"),
            _c("Bristol", "Bristol", "Europe/London", "117", "BS1 BS6 BS8"),
            _c("Liverpool", "Merseyside", "Europe/London", "151", "L1 L8 L17"),
            _c("Sheffield", "South Yorkshire", "Europe/London", "114", "S1 S10 S11"),
            _c("Cardiff", "Cardiff", "Europe/London", "29", "CF10 CF11 CF24"),
            _c("Newcastle upon Tyne", "Tyne and Wear", "Europe/London", "191", "NE1 NE2 NE6"),
            _c("Brighton", "East Sussex", "Europe/London", "1273", "BN1 BN2"),
            _c("Cambridge", "Cambridgeshire", "Europe/London", "1223", "CB1 CB2 CB4"),
        ),
    ),
    Country(
        "DE",
        "de_DE",
        "de",
        0.14,
        "EUR",
        Decimal("0.19"),
        11,
        ("151", "152", "157", "160", "170", "171", "172", "176", "177", "179"),
        ("gmail.example", "web.example", "gmx.example", "t-online.example", "posteo.example"),
        (
            _c("Berlin", "Berlin", "Europe/Berlin", "30", "10 12 13"),
            _c("Hamburg", "Hamburg", "Europe/Berlin", "40", "20 22"),
            _c("München", "Bayern", "Europe/Berlin", "89", "80 81"),
            _c("Köln", "Nordrhein-Westfalen", "Europe/Berlin", "221", "50 51"),
            _c("Frankfurt am Main", "Hessen", "Europe/Berlin", "69", "60"),
            _c("Stuttgart", "Baden-Württemberg", "Europe/Berlin", "711", "70"),
            _c("Düsseldorf", "Nordrhein-Westfalen", "Europe/Berlin", "211", "40"),
            _c("Leipzig", "Sachsen", "Europe/Berlin", "341", "04"),
            _c("Dresden", "Sachsen", "Europe/Berlin", "351", "01"),
            _c("Hannover", "Niedersachsen", "Europe/Berlin", "511", "30"),
            _c("Nürnberg", "Bayern", "Europe/Berlin", "911", "90"),
            _c("Bremen", "Bremen", "Europe/Berlin", "421", "28"),
            _c("Freiburg im Breisgau", "Baden-Württemberg", "Europe/Berlin", "761", "79"),
        ),
    ),
    Country(
        "FR",
        "fr_FR",
        "fr",
        0.13,
        "EUR",
        Decimal("0.20"),
        9,
        ("6", "7"),
        ("gmail.example", "orange.example", "free.example", "laposte.example", "sfr.example"),
        (
            _c("Paris", "Île-de-France", "Europe/Paris", "1", "75"),
            _c("Lyon", "Auvergne-Rhône-Alpes", "Europe/Paris", "4", "69"),
            _c("Marseille", "Provence-Alpes-Côte d'Azur", "Europe/Paris", "4", "13"),
            _c("Toulouse", "Occitanie", "Europe/Paris", "5", "31"),
            _c("Nice", "Provence-Alpes-Côte d'Azur", "Europe/Paris", "4", "06"),
            _c("Nantes", "Pays de la Loire", "Europe/Paris", "2", "44"),
            _c("Strasbourg", "Grand Est", "Europe/Paris", "3", "67"),
            _c("Bordeaux", "Nouvelle-Aquitaine", "Europe/Paris", "5", "33"),
            _c("Lille", "Hauts-de-France", "Europe/Paris", "3", "59"),
            _c("Rennes", "Bretagne", "Europe/Paris", "2", "35"),
            _c("Montpellier", "Occitanie", "Europe/Paris", "4", "34"),
        ),
    ),
    Country(
        "ES",
        "es_ES",
        "es",
        0.1,
        "EUR",
        Decimal("0.21"),
        9,
        ("6",),
        ("gmail.example", "hotmail.example", "yahoo.example", "telefonica.example"),
        (
            _c("Madrid", "Comunidad de Madrid", "Europe/Madrid", "91", "28"),
            _c("Barcelona", "Cataluña", "Europe/Madrid", "93", "08"),
            _c("Valencia", "Comunidad Valenciana", "Europe/Madrid", "96", "46"),
            _c("Sevilla", "Andalucía", "Europe/Madrid", "95", "41"),
            _c("Zaragoza", "Aragón", "Europe/Madrid", "976", "50"),
            _c("Málaga", "Andalucía", "Europe/Madrid", "95", "29"),
            _c("Bilbao", "País Vasco", "Europe/Madrid", "94", "48"),
            _c("Palma", "Islas Baleares", "Europe/Madrid", "971", "07"),
            _c("Las Palmas de Gran Canaria", "Canarias", "Atlantic/Canary", "928", "35"),
            _c("Granada", "Andalucía", "Europe/Madrid", "958", "18"),
        ),
    ),
    Country(
        "NL",
        "nl_NL",
        "nl",
        0.09,
        "EUR",
        Decimal("0.21"),
        9,
        ("6",),
        ("gmail.example", "ziggo.example", "kpnmail.example", "hotmail.example"),
        (
            _c("Amsterdam", "Noord-Holland", "Europe/Amsterdam", "20", "10"),
            _c("Rotterdam", "Zuid-Holland", "Europe/Amsterdam", "10", "30"),
            _c("Den Haag", "Zuid-Holland", "Europe/Amsterdam", "70", "25"),
            _c("Utrecht", "Utrecht", "Europe/Amsterdam", "30", "35"),
            _c("Eindhoven", "Noord-Brabant", "Europe/Amsterdam", "40", "56"),
            _c("Groningen", "Groningen", "Europe/Amsterdam", "50", "97"),
            _c("Tilburg", "Noord-Brabant", "Europe/Amsterdam", "13", "50"),
            _c("Haarlem", "Noord-Holland", "Europe/Amsterdam", "23", "20"),
            _c("Nijmegen", "Gelderland", "Europe/Amsterdam", "24", "65"),
        ),
    ),
)
COUNTRY_BY_CODE = {c.code: c for c in COUNTRIES}

# Rough currency conversion of USD list prices (rounded to .x9 in the generator).
FX = {"USD": Decimal("1"), "EUR": Decimal("0.92"), "GBP": Decimal("0.79")}

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

# Formal first name -> nicknames / short forms people actually use on forms.
NICKNAMES: dict[str, tuple[str, ...]] = {
    # English
    "Robert": ("Bob", "Rob", "Bobby"),
    "William": ("Bill", "Will", "Billy"),
    "Elizabeth": ("Liz", "Beth", "Lizzie", "Betty"),
    "Katherine": ("Kate", "Kathy", "Katie"),
    "Catherine": ("Cathy", "Kate", "Cat"),
    "Kathryn": ("Kate", "Kathy"),
    "Margaret": ("Maggie", "Meg", "Peggy"),
    "Michael": ("Mike", "Mick"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Jennifer": ("Jen", "Jenny"),
    "Christopher": ("Chris",),
    "Alexander": ("Alex",),
    "Alexandra": ("Alex", "Lexi"),
    "Richard": ("Rick", "Rich", "Dick"),
    "Thomas": ("Tom", "Tommy"),
    "Joseph": ("Joe", "Joey"),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Andrew": ("Andy", "Drew"),
    "Jonathan": ("Jon",),
    "Nicholas": ("Nick",),
    "Benjamin": ("Ben",),
    "Samuel": ("Sam",),
    "Samantha": ("Sam",),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Rebecca": ("Becky", "Becca"),
    "Victoria": ("Vicky", "Tori"),
    "Susan": ("Sue", "Susie"),
    "Deborah": ("Debbie", "Deb"),
    "Jessica": ("Jess",),
    "Stephanie": ("Steph",),
    "Steven": ("Steve",),
    "Stephen": ("Steve",),
    "Edward": ("Ed", "Eddie", "Ted"),
    "Timothy": ("Tim",),
    "Kenneth": ("Ken",),
    "Ronald": ("Ron",),
    "Donald": ("Don",),
    "Gregory": ("Greg",),
    "Jeffrey": ("Jeff",),
    "Charles": ("Charlie", "Chuck"),
    "David": ("Dave",),
    "Peter": ("Pete",),
    "Zachary": ("Zach",),
    "Joshua": ("Josh",),
    "Nathan": ("Nate",),
    "Abigail": ("Abby",),
    "Christina": ("Tina", "Chris"),
    "Christine": ("Chris",),
    "Pamela": ("Pam",),
    "Cynthia": ("Cindy",),
    "Kimberly": ("Kim",),
    "Frederick": ("Fred",),
    "Theodore": ("Ted", "Theo"),
    "Eleanor": ("Ellie", "Nell"),
    "Henry": ("Harry", "Hank"),
    "Lawrence": ("Larry",),
    "Douglas": ("Doug",),
    "Raymond": ("Ray",),
    "Phillip": ("Phil",),
    "Philip": ("Phil",),
    "Isabella": ("Bella", "Izzy"),
    "Natalie": ("Nat",),
    "Josephine": ("Jo", "Josie"),
    "Melissa": ("Mel",),
    "Amanda": ("Mandy",),
    "Angela": ("Angie",),
    "Gabriel": ("Gabe",),
    "Jacqueline": ("Jackie",),
    "Valerie": ("Val",),
    "Dorothy": ("Dot",),
    "Judith": ("Judy",),
    "Leonard": ("Len", "Leo"),
    # German
    "Johannes": ("Hannes", "Jo"),
    "Johann": ("Hans",),
    "Wolfgang": ("Wolf",),
    "Friedrich": ("Fritz",),
    "Christian": ("Chris",),
    "Christoph": ("Chris",),
    "Sebastian": ("Basti",),
    "Maximilian": ("Max",),
    "Tobias": ("Tobi",),
    "Matthias": ("Matti",),
    "Stefanie": ("Steffi",),
    "Katharina": ("Kathi",),
    "Franziska": ("Franzi",),
    "Elisabeth": ("Lisa", "Elli", "Lies"),
    "Gabriele": ("Gabi",),
    "Susanne": ("Susi",),
    "Andreas": ("Andi",),
    "Wilhelm": ("Willi",),
    "Heinrich": ("Heinz",),
    "Daniela": ("Dani",),
    "Josef": ("Sepp",),
    "Cornelia": ("Conny",),
    "Nikolaus": ("Klaus",),
    "Ulrich": ("Ulli",),
    "Manfred": ("Manni",),
    "Gerhard": ("Gerd",),
    # French
    "Alexandre": ("Alex",),
    "Nicolas": ("Nico",),
    "Frédéric": ("Fred",),
    "Dominique": ("Dom",),
    "Maxime": ("Max",),
    "Isabelle": ("Isa",),
    "Véronique": ("Véro",),
    "Sébastien": ("Seb",),
    "Stéphane": ("Steph",),
    "Christophe": ("Chris",),
    "Philippe": ("Phil",),
    "Mathilde": ("Mathou",),
    # Spanish
    "Francisco": ("Paco", "Fran", "Curro"),
    "José": ("Pepe",),
    "Manuel": ("Manolo", "Manu"),
    "Ignacio": ("Nacho",),
    "Dolores": ("Lola",),
    "Concepción": ("Concha",),
    "Guadalupe": ("Lupe",),
    "Enrique": ("Quique",),
    "Antonio": ("Toni",),
    "Alejandro": ("Álex",),
    "Rosario": ("Charo",),
    "Mercedes": ("Merche",),
    "Eduardo": ("Edu",),
    "Fernando": ("Fer", "Nando"),
    "Pilar": ("Pili",),
    "Santiago": ("Santi",),
    "Cristina": ("Cris",),
    "Javier": ("Javi",),
    "Isabel": ("Isa",),
    # Dutch
    "Cornelis": ("Kees",),
    "Jacobus": ("Koos", "Jaap"),
    "Hendrik": ("Henk",),
    "Wilhelmus": ("Wim",),
    "Adrianus": ("Arie",),
    "Petrus": ("Piet",),
    "Gerardus": ("Gerard",),
    "Theodorus": ("Theo",),
    "Franciscus": ("Frans",),
    "Antonius": ("Toon",),
    "Catharina": ("Toos", "Tineke"),
    "Johanna": ("Jo", "Anneke"),
    "Wilhelmina": ("Willy", "Mien"),
    "Margaretha": ("Greet",),
    "Daniël": ("Daan",),
}

# --- support and surveys ----------------------------------------------------------------

TICKET_SUBJECTS = (
    ("Where is my order {order}?", "My order {order} hasn't arrived yet. Can you check?"),
    ("Grinder making a grinding noise", "The burr grinder started making a loud noise."),
    ("Refund request for {order}", "I'd like to return part of order {order}."),
    ("Change delivery address", "We moved offices; please update the delivery address."),
    ("Subscription: skip next delivery", "Could you skip my next beans delivery?"),
    ("Invoice with VAT number", "Please reissue the invoice for {order} with our VAT number."),
    ("Espresso machine won't heat up", "The Duo shows a red light and stays cold."),
    ("Add more seats to our plan", "We've grown; can we add seats to the office plan?"),
    ("Cannot log in to my account", "The password reset email never arrives."),
    ("Damaged package", "The box for {order} arrived crushed and a cup broke."),
    ("Question about decaf process", "Is the decaf processed without chemicals?"),
    ("Cancel my subscription", "Please cancel the monthly subscription after this month."),
)
TICKET_SUBJECTS_LOCAL = {
    "de": (
        "Wo bleibt meine Bestellung {order}?",
        "Rechnung mit USt-IdNr.",
        "Mühle macht Geräusche",
    ),
    "fr": ("Où est ma commande {order} ?", "Facture avec numéro de TVA", "Abonnement : changer"),
    "es": ("¿Dónde está mi pedido {order}?", "Factura con NIF", "Cancelar suscripción"),
    "nl": ("Waar blijft mijn bestelling {order}?", "Factuur met btw-nummer", "Abonnement opzeggen"),
}
CSAT_COMMENTS = {
    "bad": ("Took far too long to get an answer.", "Problem still not solved.", "Very slow."),
    "mid": ("OK in the end, but I had to ask twice.", "Fine.", "Solved, eventually."),
    "good": (
        "Diego was super helpful, thanks!",
        "Quick and friendly.",
        "Solved in minutes.",
        "Great service as always.",
    ),
}
NPS_COMMENTS = {
    "detractor": (
        "Prices went up too much.",
        "Deliveries are often late.",
        "The grinder broke after a year.",
        "Hard to cancel the subscription.",
    ),
    "passive": ("Good coffee, shipping could be faster.", "Nice beans, app is clunky.", "Solid."),
    "promoter": (
        "Best beans I've ever had.",
        "Our office loves the plan.",
        "Fantastic service and coffee.",
        "Recommended you to all my friends!",
        "The Kenya AA is incredible.",
    ),
}

# --- notes ------------------------------------------------------------------------------

NOTES = (
    "Called {first}: interested in the {plan} plan for about {seats} people. Follow up {day}.",
    "Met {first} at the {event}. Wants a tasting set for the office.",
    "Sent the pricing sheet and a quote for {seats} seats.",
    "Prefers email over phone. Best reached in the morning ({tz}).",
    "Complained about delivery times last quarter. Handle with care.",
    "{first} is the champion; the budget owner is in finance.",
    "Left a voicemail, will try again {day}.",
    "Asked about wholesale prices for their café. Forwarded to Maya.",
    "Very happy with the Burr Grinder Pro, might buy a second one for the office.",
    "Renewal coming up. Check usage before the call.",
)
COMPANY_NOTES = (
    "Framework agreement signed; invoices go to the finance mailbox.",
    "Moved offices this year; check delivery addresses on every order.",
    "Interested in a company-wide plan once the pilot team is happy.",
    "Procurement needs three quotes for anything above 5,000.",
)
TRADE_SHOWS = ("World of Coffee", "Specialty Coffee Expo", "Caffè Culture Show", "Host Milano")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")

# --- tracking ---------------------------------------------------------------------------

PAGES = (
    ("/", "Home", 30),
    ("/shop", "Shop", 18),
    ("/shop/beans", "Beans", 12),
    ("/shop/equipment", "Equipment", 8),
    ("/office", "Office coffee plans", 6),
    ("/pricing", "Pricing", 5),
    ("/blog/how-to-dial-in-espresso", "How to dial in espresso", 4),
    ("/blog/pour-over-guide", "The pour-over guide", 4),
    ("/blog/single-origin-vs-blend", "Single origin vs blend", 3),
    ("/account", "Your account", 6),
    ("/account/orders", "Your orders", 4),
    ("/help", "Help centre", 3),
)
SCREENS = ("Home", "Shop", "Product Detail", "Cart", "Orders", "Brew Guide")
REFERRERS = (
    ("", 45),
    ("https://www.google.com/", 30),
    ("https://www.instagram.com/", 8),
    ("https://www.bing.com/", 5),
    ("https://www.linkedin.com/", 4),
    ("https://newsletter.brightbean.example/", 8),
)
SEARCHES = ("decaf", "grinder", "espresso", "kenya", "filters", "gift", "cold brew", "office")
WEB_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
)
IOS_DEVICES = ("iPhone15,2", "iPhone14,5", "iPhone16,1", "iPhone13,2")

# --- consent ----------------------------------------------------------------------------

CONSENT_SOURCES = {
    "website": "signup form",
    "shop checkout": "checkout opt-in",
    "newsletter signup": "newsletter form",
    "google ads": "landing page form",
    "referral": "signup form",
    "trade show": "trade show badge scan",
    "webinar": "webinar registration",
    "linkedin": "LinkedIn lead form",
    "partner": "partner referral form",
    "import": "import (legacy CRM)",
}
WITHDRAW_SOURCES = ("unsubscribe link", "preference centre", "support request", "reply STOP")
