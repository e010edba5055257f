"""The catalogue of questions: look one up, bind its parameters, answer it (from a report when one exists)."""

from ..errors import BadRequest, NotFound
from .binding import bind_list, bind_value
from .facts import facts, gather, label_columns
from .model import Answer, Question


class Catalogue:
    def __init__(self, questions):
        self.questions = {q.id: q for q in questions}

    def __iter__(self):
        return iter(self.questions.values())

    def __len__(self):
        return len(self.questions)

    def __contains__(self, qid):
        return qid in self.questions

    def get(self, qid: str) -> Question:
        try:
            return self.questions[qid]
        except KeyError:
            raise NotFound(f"no question {qid!r}; the questions are listed at /questions") from None

    def by_tag(self) -> dict[str, list[Question]]:
        groups: dict[str, list[Question]] = {}
        for q in self:
            for tag in q.tags or ("other",):
                groups.setdefault(tag, []).append(q)
        return groups

    def bind(self, store, question: Question, raw_params: dict) -> dict:
        """Validated bindings for the parameters given; keys starting with _ are ignored."""
        raw = {k: v for k, v in (raw_params or {}).items() if not k.startswith("_")}
        unknown = sorted(set(raw) - {p.name for p in question.params})
        if unknown:
            known = ", ".join(p.name for p in question.params) or "none"
            raise BadRequest(f"unknown parameter {unknown[0]!r} for question {question.id!r} (its parameters: {known})")
        bindings = {}
        for p in question.params:
            value = raw.get(p.name)
            if value is None or str(value).strip() == "":
                value = p.default
            if value is None:
                if p.required:
                    raise BadRequest(f"parameter {p.name!r} is required by question {question.id!r}")
                continue
            if p.type == "icd10cm-list":
                bindings.update(bind_list(store, p, str(value)))
            else:
                bindings[p.name] = bind_value(store, p, str(value))
        return bindings

    def run(self, store, question_id: str, raw_params: dict | None = None, cap: int | None = None,
            gathered: bool = False) -> Answer:
        """The answer for parameters as a person writes them ({"code": "0584T"}), validated;
        `gathered`: one row per fact with its sources and labels beside IRIs (facts.py)."""
        question = self.get(question_id)
        answer = self.answer(store, question_id, self.bind(store, question, raw_params or {}), cap)
        return facts(store, answer) if gathered else answer

    def page(self, store, question_id: str, raw_params: dict | None, offset: int, limit: int,
             gathered: bool = False) -> Answer:
        """Rows offset to offset+limit of the answer capped at the store's RESULT_CAP. Only
        the rows up to the page's end leave the engine (with isolation, cross the pipe), so
        a first page of a long answer costs little more than the query itself. Gathered,
        the page counts facts: rows are read in growing batches until a fact follows the
        page's last one (every question orders a fact's rows together, by its fact columns
        before its source columns) or the answer ends."""
        result_cap = store.settings["RESULT_CAP"]
        if gathered:
            end = offset + limit
            question = self.get(question_id)
            bindings = self.bind(store, question, raw_params or {})
            cap = min(result_cap, 2 * end + 16)
            while True:
                raw = self.answer(store, question_id, bindings, cap)
                answer = gather(raw)
                if not raw.truncated or cap >= result_cap or len(answer.rows) > end + 1:
                    break
                cap = min(result_cap, cap * 4)
            cut_at_cap = raw.truncated and cap >= result_cap
            answer = label_columns(store, answer)
            # Facts past the page: counted, or known to follow because the batch was cut before the cap.
            answer.more = end < len(answer.rows) or (raw.truncated and not cut_at_cap)
            answer.truncated = cut_at_cap and not answer.more
            answer.rows = answer.rows[offset:end]
            answer.sources = answer.sources[offset:end] if answer.sources is not None else None
            answer.offset = offset
            return answer
        end = min(offset + limit, result_cap)
        answer = self.run(store, question_id, raw_params, cap=end)
        cut_at_cap = end == result_cap and answer.truncated
        answer.more = answer.truncated and not cut_at_cap
        answer.truncated = cut_at_cap
        answer.rows = answer.rows[offset:end]
        answer.offset = offset
        return answer

    def answer(self, store, question_id: str, bindings: dict, cap: int | None = None) -> Answer:
        """The answer for bindings already resolved (terms.IRI / terms.Literal values)."""
        question = self.get(question_id)
        reports = getattr(store, "reports", None)
        if reports is not None and question_id in reports:
            cap = store.settings["RESULT_CAP"] if cap is None else cap
            columns, rows, truncated = reports.answer(question_id, bindings, cap)
            return Answer(question, columns, rows, truncated, bindings)
        result = store.select(question.query, bindings=bindings, cap=cap)
        return Answer(question, list(result.columns), result.rows, result.truncated, bindings)
