"""Writes the hand-written SQuAD-format fixtures (v1.1 and v2.0 structure)."""

import json

paragraphs_train = [
    (
        "The river Aldon rises in the northern hills and flows south for 140 kilometres before it "
        "reaches the sea at Port Merrow. The town of Kelby was founded on its banks in 1212 by a "
        "group of wool merchants, who built the first stone bridge across the river in 1250.",
        [
            ("How long is the river Aldon?", "140 kilometres"),
            ("Where does the Aldon reach the sea?", "Port Merrow"),
            ("When was Kelby founded?", "1212"),
            ("Who founded the town of Kelby?", "a group of wool merchants"),
        ],
        [("How deep is the harbour of Port Merrow?",)],
    ),
    (
        "Marta Ilves was a chemist who studied the glazes used on medieval pottery. In 1978 she "
        "showed that the green colour of the Kelby jugs came from copper, not from iron as earlier "
        "writers had claimed. She later taught at the university of Tarsk for twenty years.",
        [
            ("What did Marta Ilves study?", "the glazes used on medieval pottery"),
            ("What gave the Kelby jugs their green colour?", "copper"),
            ("Where did Marta Ilves teach?", "the university of Tarsk"),
            ("For how long did she teach?", "twenty years"),
        ],
        [("Which prize did Marta Ilves win in 1978?",)],
    ),
    (
        "The night train from Tarsk to Port Merrow leaves at 22:40 and arrives at 06:15. It has "
        "six sleeping cars and a dining car, and it stops only at Kelby and Orran. The line was "
        "opened in 1894 and was electrified in 1961.",
        [
            ("When does the night train leave Tarsk?", "22:40"),
            ("How many sleeping cars does the train have?", "six"),
            ("Where does the train stop?", "Kelby and Orran"),
            ("When was the line electrified?", "1961"),
        ],
        [("How much does a ticket cost?",)],
    ),
]
paragraphs_dev = [
    (
        "Orran is a fishing village on a small island off the coast. About 300 people live there. "
        "A ferry crosses to the mainland twice a day, and the crossing takes forty minutes.",
        [
            ("How many people live in Orran?", "About 300"),
            ("How often does the ferry cross to the mainland?", "twice a day"),
            ("How long does the crossing take?", "forty minutes"),
        ],
        [("Who owns the ferry?",)],
    ),
    (
        "The Kelby museum opened in 1925 in the old wool hall. Its largest room holds the green "
        "jugs, and a smaller room shows the history of the stone bridge.",
        [
            ("When did the Kelby museum open?", "1925"),
            ("Where is the Kelby museum?", "the old wool hall"),
            ("What does the largest room hold?", "the green jugs"),
        ],
        [("How many visitors does the museum have each year?",)],
    ),
]


def build(paragraphs, version, prefix):
    data = []
    number = 0
    for index, (context, qas, impossible) in enumerate(paragraphs):
        items = []
        for question, answer in qas:
            number += 1
            start = context.index(answer)
            qa = {
                "id": f"{prefix}{number}",
                "question": question,
                "answers": [{"text": answer, "answer_start": start}],
            }
            if version == "v2.0":
                qa["is_impossible"] = False
            items.append(qa)
        if version == "v2.0":
            for (question,) in impossible:
                number += 1
                items.append(
                    {
                        "id": f"{prefix}{number}",
                        "question": question,
                        "answers": [],
                        "plausible_answers": [],
                        "is_impossible": True,
                    }
                )
        data.append(
            {"title": f"fixture_{index}", "paragraphs": [{"context": context, "qas": items}]}
        )
    return {"version": version if version == "v2.0" else "1.1", "data": data}


for version, folder in (("1.1", "v1.1"), ("v2.0", "v2.0")):
    for split, paragraphs in (("train", paragraphs_train), ("dev", paragraphs_dev)):
        with open(f"{split}-{folder}.json", "w") as handle:
            json.dump(build(paragraphs, version, f"{split}-"), handle, indent=1)
            handle.write("\n")
