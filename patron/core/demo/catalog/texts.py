"""Demo reference data: ticket, survey and note texts, web tracking values, consent sources."""

from __future__ import annotations

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
