"""Namespaces, defined once."""

BASE = "https://w3id.org/coderef/"
ID = BASE + "id/"
CR = BASE + "ontology#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
PROV = "http://www.w3.org/ns/prov#"
SCHEMA = "https://schema.org/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
OWL = "http://www.w3.org/2002/07/owl#"
SH = "http://www.w3.org/ns/shacl#"

PREFIXES = {
    "cr": CR,
    "id": ID,
    "skos": SKOS,
    "dct": DCT,
    "prov": PROV,
    "schema": SCHEMA,
    "rdf": RDF,
    "rdfs": RDFS,
    "xsd": XSD,
    "owl": OWL,
    "sh": SH,
}

# Scheme segment of an identifier (id/<scheme>/<notation>) -> what it names.
CODE_SCHEMES = ("cpt", "hcpcs", "icd10cm", "modifier", "pos")


def sparql_prefixes() -> str:
    """PREFIX lines for every namespace above, for queries written in code."""
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
