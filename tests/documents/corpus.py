"""A small, realistic corpus of an inventory business's documents, and paraphrased questions about them.

No question repeats its document's key words verbatim; each expects one document to rank first.
"""

from __future__ import annotations

from documents.extraction import DOCX, MARKDOWN, PDF, PLAIN
from tests.documents.files import docx_bytes, pdf_bytes

DOCUMENTS: dict[str, tuple[str, str, list[str]]] = {
    # key: (file name, content type, paragraphs)
    "supplier_contract": (
        "kanju-supply-agreement.pdf",
        PDF,
        [
            "Supply Agreement between Instantory Ltd (the Buyer) and Kanju Crafts Cooperative (the Supplier), Nairobi.",
            "The Supplier shall deliver 200 hand-beaded stools per calendar quarter. The Buyer pays each invoice "
            "within thirty (30) days of receiving the goods. Either party may terminate this agreement with ninety "
            "days' written notice. The Supplier grants the Buyer exclusive resale rights in the European Union.",
        ],
    ),
    "stool_price_list": (
        "beaded-stools-price-list-2025.docx",
        DOCX,
        [
            "Wholesale price list 2025: beaded stools",
            "Prices in US dollars per unit, excluding VAT. Minimum order: 10 units per size.",
            "Small stool (30 cm): 45.00. Medium stool (45 cm): 62.00. Large stool (60 cm): 80.00.",
            "Orders above 100 units receive a 7% volume discount.",
        ],
    ),
    "shipping_invoice": (
        "invoice-INV-2024-0193.pdf",
        PDF,
        [
            "Commercial invoice INV-2024-0193. Shipper: Coastal Freight Forwarders, Mombasa, Kenya. "
            "Consignee: Instantory Ltd, Rotterdam, Netherlands.",
            "One 20-foot container by sea. Ocean freight 2,350.00 USD; terminal handling 310.00 USD; "
            "marine cargo insurance 95.00 USD. Total due 2,755.00 USD within 14 days.",
        ],
    ),
    "basket_care": (
        "woven-basket-care.md",
        MARKDOWN,
        [
            "# Caring for your woven baskets",
            "Our baskets are hand-woven from sisal and sweetgrass. Remove dust with a soft, dry brush. "
            "Keep them out of direct sunlight so the natural dyes do not fade, and away from radiators. "
            "Never soak a basket: wipe stains with a barely damp cloth and let it air-dry.",
        ],
    ),
    "returns_policy": (
        "returns-and-refunds.txt",
        PLAIN,
        [
            "Returns and refunds policy. Customers may return any item within 30 days of delivery for a full refund "
            "to the original payment method. Items that arrive damaged are replaced free of charge; please send a "
            "photo of the damage to support within 48 hours. Custom orders cannot be returned."
        ],
    ),
    "stock_count": (
        "q3-stock-count-report.docx",
        DOCX,
        [
            "Quarterly stock count report, Q3",
            "Counted on 30 September in the Rotterdam warehouse. System and physical counts matched for 212 of 220 "
            "SKUs. Shrinkage: 6 teak bowls and 3 small beaded stools unaccounted for; 2 baskets found damaged by "
            "damp. Recommended actions: cycle counts every month and a humidity monitor in aisle C.",
        ],
    ),
    "staff_handbook": (
        "staff-handbook.pdf",
        PDF,
        [
            "Staff handbook. Working hours are 9:00 to 17:30, Monday to Friday, with a 30-minute lunch break.",
            "Every employee is entitled to 25 days of paid annual leave plus public holidays. New staff complete "
            "point-of-sale training during their first week and shadow a senior colleague for two weeks.",
        ],
    ),
    "photo_guidelines": (
        "product-photography-guidelines.md",
        MARKDOWN,
        [
            "## Product photography guidelines",
            "Shoot every product on a plain white background in soft daylight or with two softboxes. Take a front "
            "view, a 45-degree view, a close-up of the texture and one picture in a styled room. Export JPEGs at "
            "2000 pixels on the long side for the web shop.",
        ],
    ),
    "warehouse_insurance": (
        "warehouse-insurance-policy.pdf",
        PDF,
        [
            "Commercial property insurance, policy number CP-88213. Insured premises: warehouse unit 4, Rotterdam.",
            "Cover: fire, storm, flood and water damage, burglary and theft of stock up to EUR 250,000. "
            "Excess: EUR 1,000 per claim. Claims must be reported within 7 days of the incident.",
        ],
    ),
    "teak_bowls": (
        "teak-bowls-product-sheet.docx",
        DOCX,
        [
            "Product sheet: hand-carved teak bowls",
            "Finished with food-safe mineral oil. Diameter 28 cm, height 9 cm. Wash by hand with mild soap and "
            "dry at once; not suitable for the dishwasher or microwave. Re-oil every few months to keep the grain.",
        ],
    ),
    "holiday_marketing": (
        "holiday-campaign-plan.txt",
        PLAIN,
        [
            "Holiday season campaign plan (November-December). Goals: 30% more online orders than last year. "
            "Channels: Instagram reels featuring gift bundles, a weekly email newsletter, and a 15% discount code "
            "GIFT15 for subscribers. Budget: 4,000 EUR for paid social ads."
        ],
    ),
    "customs_guide": (
        "import-customs-guide.md",
        MARKDOWN,
        [
            "# Importing handicrafts into the EU",
            "Each shipment needs a commercial invoice, a packing list, a certificate of origin and the correct HS "
            "code. Wooden and woven plant-fibre goods also need a phytosanitary certificate issued in the exporting "
            "country. Import duty and VAT are paid to customs before release.",
        ],
    ),
    "shop_lease": (
        "shop-lease.pdf",
        PDF,
        [
            "Lease agreement for retail premises at 12 Market Street. The tenant pays a monthly rent of EUR 2,100 "
            "on the first day of each month and a security deposit of three months' rent. The landlord maintains "
            "the roof and structure; the tenant maintains the interior. Term: five years.",
        ],
    ),
}

# (paraphrased question, key of the document that must rank first)
QUERIES: list[tuple[str, str]] = [
    ("how long do we have to pay the stool maker after the goods arrive", "supplier_contract"),
    ("can we end the deal with the beadwork cooperative", "supplier_contract"),
    ("what does a big stool cost when we buy in bulk", "stool_price_list"),
    ("how much was the sea freight from Kenya to the Netherlands", "shipping_invoice"),
    ("how do I clean a grass basket without damaging it", "basket_care"),
    ("a buyer received a broken item, can they get their money back", "returns_policy"),
    ("which products went missing in the last inventory check", "stock_count"),
    ("how many vacation days do employees get", "staff_handbook"),
    ("how to take pictures of items for the online store", "photo_guidelines"),
    ("are we covered if the storage building gets flooded", "warehouse_insurance"),
    ("can the wooden salad bowl go in the dishwasher", "teak_bowls"),
    ("promotion ideas for Christmas sales", "holiday_marketing"),
    ("what paperwork is needed to bring carved wood into Europe", "customs_guide"),
    ("monthly payment for renting the store on Market Street", "shop_lease"),
]


def file_bytes(content_type: str, paragraphs: list[str]) -> bytes:
    if content_type == PDF:
        return pdf_bytes(["\n\n".join(paragraphs)])
    if content_type == DOCX:
        return docx_bytes(paragraphs)
    return "\n\n".join(paragraphs).encode()
