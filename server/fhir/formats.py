"""FHIR JSON and XML: which one a request asks for (`_format`, then `Accept`), and JSON as FHIR XML.

The XML follows the FHIR rules: primitives as `value` attributes, repeats as repeated
elements, a contained resource inside an element named by its type, all in the FHIR namespace.
"""

from xml.sax.saxutils import quoteattr

from .outcome import FhirError

JSON = "application/fhir+json"
XML = "application/fhir+xml"
NAMESPACE = "http://hl7.org/fhir"
FORMATS = {"json": JSON, "application/json": JSON, JSON: JSON, "application/json+fhir": JSON,
           "xml": XML, "text/xml": XML, "application/xml": XML, XML: XML, "application/xml+fhir": XML}


def negotiate(format_param: str | None, accept) -> str:
    """The media type to answer in; `accept` is a werkzeug MIMEAccept."""
    if format_param:
        chosen = FORMATS.get(format_param.strip().lower())
        if chosen is None:
            raise FhirError(f"parameter '_format': {format_param!r} is not json or xml", 406, "not-supported")
        return chosen
    if not accept.provided:
        return JSON
    best = accept.best_match([JSON, XML, "application/json", "application/xml", "text/xml", "*/*"])
    if best is None:
        raise FhirError("this server answers application/fhir+json or application/fhir+xml only", 406, "not-supported")
    return XML if best in (XML, "application/xml", "text/xml") else JSON


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _element(name: str, value, out: list, indent: str):
    if isinstance(value, list):
        for item in value:
            _element(name, item, out, indent)
    elif isinstance(value, dict):
        if "resourceType" in value:
            out.append(f"{indent}<{name}>")
            _resource(value, out, indent + "  ", namespace=False)
            out.append(f"{indent}</{name}>")
            return
        attrs = f" url={quoteattr(value['url'])}" if name == "extension" or "url" in value and name == "modifierExtension" else ""
        children = {k: v for k, v in value.items() if not (attrs and k == "url")}
        out.append(f"{indent}<{name}{attrs}>")
        for key, item in children.items():
            _element(key, item, out, indent + "  ")
        out.append(f"{indent}</{name}>")
    elif value is not None:
        out.append(f"{indent}<{name} value={quoteattr(_scalar(value))}/>")


def _resource(resource: dict, out: list, indent: str, namespace: bool):
    kind = resource["resourceType"]
    xmlns = f' xmlns="{NAMESPACE}"' if namespace else ""
    out.append(f"{indent}<{kind}{xmlns}>")
    for key, value in resource.items():
        if key != "resourceType":
            _element(key, value, out, indent + "  ")
    out.append(f"{indent}</{kind}>")


def to_xml(resource: dict) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    _resource(resource, out, "", namespace=True)
    return "\n".join(out) + "\n"
