"""Every fact of the seed publication is in the graph: one SPARQL ASK per fact.

The table reads top to bottom like the publication (../shared/seed/000_735f01ca40992fbf.txt).
The graph holds each fact in its own words (tests/reference/test_wording.py), so an ASK looks
for the fact's terms and the words of our paraphrase, never for the publication's wording.
Each ASK also demands that the statement carries the seed as its source where the fact
comes from the seed alone.
"""

import pytest

from server.namespaces import sparql_prefixes

PREFIXES = sparql_prefixes() + """
PREFIX cpt: <https://w3id.org/coderef/id/cpt/>
PREFIX hcpcs: <https://w3id.org/coderef/id/hcpcs/>
PREFIX icd: <https://w3id.org/coderef/id/icd10cm/>
PREFIX mod: <https://w3id.org/coderef/id/modifier/>
PREFIX pos: <https://w3id.org/coderef/id/pos/>
PREFIX payer: <https://w3id.org/coderef/id/payer/>
PREFIX src: <https://w3id.org/coderef/id/source/>
PREFIX comp: <https://w3id.org/coderef/id/vocab/component-type/>
PREFIX gap: <https://w3id.org/coderef/id/vocab/gap-kind/>
PREFIX ctx: <https://w3id.org/coderef/id/vocab/clinical-context/>
PREFIX appr: <https://w3id.org/coderef/id/vocab/approach/>
PREFIX set: <https://w3id.org/coderef/id/vocab/setting/>
PREFIX site: <https://w3id.org/coderef/id/vocab/site-role/>
PREFIX anes: <https://w3id.org/coderef/id/vocab/anesthesia/>
PREFIX img: <https://w3id.org/coderef/id/vocab/imaging-modality/>
PREFIX route: <https://w3id.org/coderef/id/vocab/access-route/>
PREFIX obs: <https://w3id.org/coderef/id/vocab/observation/>
"""

SEED_FACTS = [
    # (id, the fact in the publication's words, ASK pattern)
    ("code-notation", "CPT code 0584T exists, in CPT Category III",
     "cpt:0584T a cr:ProcedureCode ; skos:notation '0584T' ; cr:codeSystem <https://w3id.org/coderef/id/scheme/cpt-category-iii> ; dct:source src:seed-0584t ."),
    ("title", "CPT 0584T: Pancreatic Islet Cell Transplantation, Intraportal Infusion",
     "cpt:0584T skos:altLabel ?alt . src:seed-0584t dct:title ?t . FILTER(CONTAINS(LCASE(?alt), 'intraportal') && CONTAINS(?t, 'Intraportal Infusion'))"),
    ("descriptor-islet-portal-vein", "pancreatic beta islet cell transplantation by infusion into the portal vein",
     "cpt:0584T skos:prefLabel ?l ; cr:plainDescription ?d ; cr:anatomicalTarget <https://w3id.org/coderef/id/vocab/anatomy/hepatic-portal-vein> . FILTER(CONTAINS(LCASE(?l), 'islet') && CONTAINS(LCASE(?l), 'portal vein') && CONTAINS(LCASE(?d), 'beta cells'))"),
    ("purpose-insulin", "performed to stimulate endogenous insulin production in patients with diabetes",
     "cpt:0584T cr:clinicalPurpose ?p . FILTER(CONTAINS(LCASE(?p), 'insulin') && CONTAINS(LCASE(?p), 'diabetes'))"),
    ("combines-access-and-infusion", "combines surgical access and image-guided radiologic infusion",
     "cpt:0584T cr:serviceType ?t . FILTER(CONTAINS(LCASE(?t), 'reached surgically') && CONTAINS(LCASE(?t), 'image guidance'))"),
    ("imaging-bundled", "imaging and radiology services bundled into the code",
     "cpt:0584T <https://w3id.org/coderef/ontology#bundledService> ?b . ?b cr:componentType comp:imaging ; dct:source src:seed-0584t ."),
    ("national-significance", "implications for transplant program coverage, payer policy development, and access to emerging biologic treatments",
     "cpt:0584T cr:significance ?s . FILTER(CONTAINS(?s, 'covered') && CONTAINS(?s, 'payers write their policies') && CONTAINS(?s, 'biologic'))"),
    ("key-payers", "key payers: Aetna, Blue Cross Blue Shield, Cigna Health, UnitedHealthcare, Medicare",
     "src:seed-0584t cr:keyPayer payer:aetna , payer:bcbsa , payer:cigna , payer:uhc , payer:medicare ."),
    ("topics-covered", "clinical context, sites of service, scope, coverage patterns, reimbursement benchmarks, billing guidance, indications",
     "SELECT ?n WHERE { { SELECT (COUNT(?t) AS ?n) WHERE { src:seed-0584t cr:topicCovered ?t } } FILTER(?n >= 7) }"),
    ("data-gaps", "areas where data are limited or variable and where policy clarification is commonly sought",
     "?g a cr:DataGap ; cr:about cpt:0584T ; cr:gapKind gap:limited-or-variable ; dct:source src:seed-0584t ; rdfs:comment ?c . FILTER(CONTAINS(?c, 'thin or uneven') && CONTAINS(?c, 'clarify their policy'))"),
    ("audiences", "hospital billing managers, transplant program administrators, clinicians in islet cell therapy, payer policy analysts",
     "src:seed-0584t cr:intendedAudience 'hospital billing managers'@en , 'transplant program administrators'@en , 'clinicians who give islet cell therapy'@en , 'payer policy analysts'@en ."),
    ("national-view", "a concise national view of how CPT code 0584T is used and reimbursed across major payers",
     "src:seed-0584t dct:subject cpt:0584T ; dct:description ?d . FILTER(CONTAINS(?d, 'national overview') && CONTAINS(?d, 'major payers'))"),
    ("benchmarks-where-available", "reimbursement benchmarks where available (none is published: stated, not guessed)",
     "cpt:0584T cr:benchmark ?b . ?b cr:pricingStatus <https://w3id.org/coderef/id/vocab/pricing-status/not-available> . FILTER NOT EXISTS { cpt:0584T cr:benchmark/cr:amount ?amount }"),
    ("indications-drive-utilization", "clinical indications that drive utilization: the seed's patient, type 1 diabetes with recurrent severe hypoglycemia",
     "cpt:0584T cr:indication ?i . ?i cr:diagnosis icd:E10.649 ; cr:indicationRole <https://w3id.org/coderef/id/vocab/indication-role/primary-indication> ; dct:source src:seed-0584t ."),
    ("cell-source", "islet cells sourced from the patient or a donor",
     "cpt:0584T cr:cellSource ctx:autologous , ctx:allogeneic ."),
    ("catheter-small-incision", "infuses the cells into the portal vein through a catheter inserted via a small abdominal skin incision",
     "cpt:0584T cr:plainDescription ?d ; cr:approach appr:percutaneous . FILTER(CONTAINS(?d, 'catheter') && CONTAINS(?d, 'small cut in the skin of the abdomen'))"),
    ("all-imaging-guidance-rsi", "all imaging, imaging guidance, and radiological supervision and interpretation are included",
     "cpt:0584T <https://w3id.org/coderef/ontology#bundledService> ?a , ?b , ?c . ?a cr:componentType comp:imaging . ?b cr:componentType comp:imaging-guidance . ?c cr:componentType comp:supervision-interpretation . ?a dct:source src:seed-0584t . ?b dct:source src:seed-0584t . ?c dct:source src:seed-0584t ."),
    ("service-type", "Surgical/interventional transplant procedure involving intra-portal infusion of pancreatic islet cells",
     "cpt:0584T cr:serviceType ?t . FILTER(STRSTARTS(?t, 'Transplant done by surgeons or interventional radiologists') && CONTAINS(?t, 'into the portal vein'))"),
    ("typical-site-or-ir", "hospital operating room or interventional radiology suite, inpatient or outpatient admission",
     "cpt:0584T cr:siteOfService ?a , ?b . ?a cr:setting set:hospital-operating-room ; cr:siteRole site:typical ; dct:source src:seed-0584t . ?b cr:setting set:interventional-radiology-suite ; rdfs:comment ?c . FILTER(CONTAINS(?c, 'an inpatient or an outpatient'))"),
    ("patient-profile", "a 45-year-old patient with type 1 diabetes refractory to optimized medical therapy and recurrent severe hypoglycemia",
     "cpt:0584T cr:scenario ?s . ?s cr:patientProfile ?p ; dct:source src:seed-0584t . FILTER(CONTAINS(?p, 'aged 45') && CONTAINS(?p, 'type 1 diabetes') && CONTAINS(?p, 'severe hypoglycaemia'))"),
    ("autologous-or-allogeneic", "undergoes autologous or allogeneic transplantation",
     "cpt:0584T cr:scenario ?s . ?s cr:procedureVariant ctx:autologous , ctx:allogeneic ."),
    ("step-pre-assessment", "pre-procedure assessment by endocrinology and transplant surgery or IR: optimization, infectious disease screening, donor screening if allogeneic, informed consent",
     "cpt:0584T cr:scenario/cr:step ?st . ?st cr:stepOrder 1 ; cr:performedBy ?who ; dct:description ?d . FILTER(CONTAINS(?who, 'Endocrinology') && CONTAINS(?who, 'transplant surgery') && CONTAINS(?who, 'interventional radiology') && CONTAINS(?d, 'optimised') && CONTAINS(?d, 'infections are screened') && CONTAINS(?d, 'donor is screened') && CONTAINS(?d, 'consent'))"),
    ("step-suite", "brought to an interventional radiology or hybrid operating suite",
     "cpt:0584T cr:scenario/cr:step ?st . ?st cr:stepOrder 2 ; dct:description ?d . FILTER(CONTAINS(?d, 'hybrid operating room'))"),
    ("anesthesia", "under conscious sedation or general anesthesia",
     "cpt:0584T cr:scenario ?s . ?s cr:anesthesiaOption anes:conscious-sedation , anes:general-anesthesia ."),
    ("imaging-modalities", "image guidance, usually ultrasound and fluoroscopy",
     "cpt:0584T cr:scenario ?s . ?s cr:imagingModality img:ultrasound , img:fluoroscopy ."),
    ("access-approaches", "portal venous access by a percutaneous transhepatic or transabdominal approach through a small abdominal skin incision",
     "cpt:0584T cr:scenario ?s . ?s cr:accessApproach route:percutaneous-transhepatic , route:transabdominal ."),
    ("slow-infusion-portal-pressure", "infused slowly into the portal vein through a catheter or introducer; portal pressures are monitored",
     "cpt:0584T cr:scenario ?s . ?s cr:monitoring obs:portal-pressure ; cr:step ?st . ?st dct:description ?d . FILTER(CONTAINS(?d, 'slowly') && CONTAINS(?d, 'catheter or an introducer'))"),
    ("rsi-intraop-fluoro", "RS&I, intraoperative imaging and any fluoroscopic guidance are part of the service",
     "cpt:0584T cr:scenario/cr:step ?st . ?st dct:description ?d . FILTER(CONTAINS(?d, 'imaging during the procedure') && CONTAINS(?d, 'fluoroscopic guidance') && CONTAINS(?d, 'belong to the service'))"),
    ("post-monitoring", "observation for bleeding, portal vein thrombosis and graft function",
     "cpt:0584T cr:scenario ?s . ?s cr:complicationWatched obs:bleeding , obs:portal-vein-thrombosis ; cr:monitoring obs:graft-function ."),
    ("recovery-areas", "in an inpatient or ambulatory infusion recovery area",
     "cpt:0584T cr:scenario ?s . ?s cr:recoverySetting set:inpatient-recovery-area , set:ambulatory-infusion-recovery-area . set:inpatient-recovery-area a cr:Setting ; skos:prefLabel ?a . set:ambulatory-infusion-recovery-area a cr:Setting ; skos:prefLabel ?b ."),
    ("typical-sites-scenario", "IR suite, hybrid operating room, or hospital inpatient surgical unit depending on anesthesia and monitoring needs",
     "cpt:0584T cr:siteOfService ?a , ?b , ?c . ?a cr:setting set:interventional-radiology-suite . ?b cr:setting set:hybrid-operating-room . ?c cr:setting set:hospital-inpatient-surgical-unit ; rdfs:comment ?why . set:interventional-radiology-suite a cr:Setting . set:hybrid-operating-room a cr:Setting . set:hospital-inpatient-surgical-unit a cr:Setting . set:hospital-operating-room a cr:Setting . FILTER(CONTAINS(?why, 'anaesthesia and the monitoring'))"),
    ("workflow-ordered", "the workflow is ordered: assessment first, monitoring last",
     "SELECT ?n ?last WHERE { { SELECT (COUNT(?st) AS ?n) (MAX(?o) AS ?last) WHERE { cpt:0584T cr:scenario/cr:step ?st . ?st cr:stepOrder ?o } } FILTER(?n = 7 && ?last = 7) }"),
    ("modifier-22", "modifier 22: increased procedural services",
     "mod:22 a cr:Modifier ; skos:notation '22' ; skos:prefLabel 'Increased procedural services'@en ."),
    ("modifier-22-when", "use when work is substantially greater than typical and documentation supports increased complexity",
     "cpt:0584T cr:modifierUsage ?u . ?u cr:modifier mod:22 ; cr:whenToUse ?w ; cr:documentationRequired ?d ; dct:source src:seed-0584t . FILTER(CONTAINS(?w, 'substantially more work than a usual') && CONTAINS(?d, 'increased complexity'))"),
    ("key-payers-have-positions", "each named payer's position is in the graph (UnitedHealthcare: no policy found)",
     "VALUES ?p { payer:aetna payer:cigna payer:uhc payer:medicare payer:anthem } ?pos a cr:CoveragePosition ; cr:payer ?p ; cr:appliesTo cpt:0584T ."),
]


def ask(store, pattern: str) -> bool:
    if pattern.lstrip().upper().startswith("SELECT"):
        return bool(store.select(PREFIXES + pattern).rows)
    return store.ask(PREFIXES + "ASK { " + pattern + " }")


@pytest.mark.parametrize("fact_id,fact,pattern", SEED_FACTS, ids=[f[0] for f in SEED_FACTS])
def test_seed_fact_is_in_the_graph(store, fact_id, fact, pattern):
    assert ask(store, pattern), f"seed fact missing: {fact}"


def test_every_named_payer_answers_for_0584T(store):
    """UnitedHealthcare included: 'no policy found' is a position too."""
    rows = store.select(PREFIXES + """
        SELECT ?slug WHERE {
          src:seed-0584t cr:keyPayer ?payer .
          ?payer cr:payerSlug ?slug .
          FILTER NOT EXISTS {
            ?pos cr:appliesTo cpt:0584T .
            { ?pos cr:payer ?payer } UNION { ?pos cr:payer/schema:parentOrganization ?payer }
          }
        }""").rows
    assert rows == [], f"named payers without a position on 0584T: {[r['slug']['value'] for r in rows]}"
