"""Write the hand-made QQP, MNLI and QNLI-train fixtures in the GLUE files' exact layouts.

No copy of QQP, MNLI or the QNLI train file is available here (see ../shared/data/README.md), so
these fixtures are sentences written for this project, laid out as the GLUE download gives them:

- QQP train/dev: `id qid1 qid2 question1 question2 is_duplicate`; test: `id question1 question2`.
- MNLI train: 12 columns (`index promptID pairID genre sentence1_binary_parse
  sentence2_binary_parse sentence1_parse sentence2_parse sentence1 sentence2 label1 gold_label`);
  dev_matched/dev_mismatched: 16 (five annotator labels `label1..label5`, then `gold_label`);
  test_matched/test_mismatched: the first 10. Matched files use the five training genres,
  mismatched ones five others, as MNLI does. The parse columns are simple stand-ins in the
  Penn Treebank bracket format (the readers never use them).
- QNLI train: `index question sentence label`, as its dev and test files.

    python scripts/make_pair_fixtures.py --target fixtures/data
"""

import argparse
from pathlib import Path
from typing import List, Sequence, Tuple

QQP = [  # question1, question2, is_duplicate
    ("How do I learn to cook rice well?", "What is the best way to cook rice?", 1),
    ("Why is the sky blue during the day?", "What makes the daytime sky look blue?", 1),
    ("How can I improve my handwriting?", "How do I make my handwriting neater?", 1),
    ("What is the capital of Canada?", "What is the largest city in Canada?", 0),
    ("How do bees make honey?", "Why do bees sting people?", 0),
    ("Is it safe to swim after eating?", "Should I wait before swimming after a meal?", 1),
    ("How do I start running as a beginner?", "What shoes are best for running on trails?", 0),
    ("What are good books for learning Python?", "Which books teach Python programming best?", 1),
    ("How long does it take to learn guitar?", "How long do guitar strings last?", 0),
    ("Why do cats purr?", "What does it mean when a cat purrs?", 1),
    ("How can I save money on groceries?", "What are cheap ways to buy food?", 1),
    ("What causes thunder?", "How far away is a storm if I hear thunder?", 0),
    ("How do I fix a flat bicycle tyre?", "How can I repair a punctured bike tire?", 1),
    ("Which planet is closest to the sun?", "Which planet has the most moons?", 0),
    ("How do I stop procrastinating?", "What can I do to stop putting things off?", 1),
    ("What is the best time to visit Lisbon?", "What food is Lisbon famous for?", 0),
    ("How do I grow tomatoes on a balcony?", "Can tomatoes be grown in pots outside?", 1),
    ("Why is my phone battery draining fast?", "How do I make my phone charge faster?", 0),
    ("What is a good first programming language?", "Which language should I learn first?", 1),
    ("How tall is the tallest tree?", "How old is the oldest tree?", 0),
    # dev
    ("How do I make bread at home?", "What is an easy recipe for homemade bread?", 1),
    ("Why do leaves change colour in autumn?", "Why do trees lose their leaves?", 0),
    ("How can I sleep better at night?", "What helps me fall asleep faster?", 1),
    ("What is the speed of sound?", "What is the speed of light?", 0),
    ("How do I clean a cast iron pan?", "What is the right way to wash cast iron?", 1),
    ("Who invented the telephone?", "When was the first telephone call made?", 0),
    ("How do I learn to swim as an adult?", "Can adults learn how to swim?", 1),
    ("What do pandas eat?", "Where do pandas live in the wild?", 0),
    ("How can I remember names better?", "What tricks help to remember people's names?", 1),
    ("Is coffee bad for your heart?", "How much tea is safe to drink daily?", 0),
    # test
    ("How do I train a puppy to sit?", "What is the best way to teach a dog to sit?", None),
    ("Why is the ocean salty?", "How deep is the ocean?", None),
    ("How do I write a good cover letter?", "What should a cover letter include?", None),
    ("What is the tallest mountain in Africa?", "How high is Mount Kilimanjaro?", None),
    ("How do solar panels work?", "Are solar panels worth the cost?", None),
    ("How can I learn to draw faces?", "What are tips for drawing portraits?", None),
]

MATCHED = ["fiction", "government", "slate", "telephone", "travel"]
MISMATCHED = ["facetoface", "letters", "nineeleven", "oup", "verbatim"]

MNLI = [  # premise, hypothesis, gold label
    (
        "The old bridge was closed for repairs all summer.",
        "Nobody could cross the old bridge " "in summer.",
        "entailment",
    ),
    (
        "She ordered a coffee and sat by the window.",
        "She drank tea at the counter.",
        "contradiction",
    ),
    ("The committee will publish its report next month.", "The report is very long.", "neutral"),
    (
        "Two children were playing football in the park.",
        "Kids were outside playing a game.",
        "entailment",
    ),
    ("The museum is free on Sundays.", "The museum charges everyone on Sundays.", "contradiction"),
    ("He moved to the coast after he retired.", "He enjoys living near the sea.", "neutral"),
    ("The train was delayed by twenty minutes.", "The train did not arrive on time.", "entailment"),
    (
        "Our office closes at six every evening.",
        "The office stays open all night.",
        "contradiction",
    ),
    ("The recipe calls for three eggs.", "The cake will taste sweet.", "neutral"),
    (
        "The agency hired four new inspectors this year.",
        "The agency added staff this year.",
        "entailment",
    ),
    ("I never liked the taste of olives.", "I have always loved olives.", "contradiction"),
    ("The hotel overlooks a quiet harbour.", "The hotel is expensive.", "neutral"),
    (
        "The river flooded the lower part of the town.",
        "Water covered some of the town.",
        "entailment",
    ),
    (
        "They cancelled the concert because of the storm.",
        "The concert went ahead as planned.",
        "contradiction",
    ),
    ("My sister works at a bookshop downtown.", "My sister reads a lot of novels.", "neutral"),
    (
        "The new law takes effect in January.",
        "The law starts applying at the start of the " "year.",
        "entailment",
    ),
    (
        "The village has no school of its own.",
        "The village school has two hundred pupils.",
        "contradiction",
    ),
    (
        "The painter finished the portrait in a week.",
        "The portrait was sold at auction.",
        "neutral",
    ),
    (
        "Prices at the market rose sharply in March.",
        "The market got more expensive in March.",
        "entailment",
    ),
    (
        "The library was empty when we arrived.",
        "The library was crowded with students.",
        "contradiction",
    ),
    # dev (matched, then mismatched)
    ("The garden gate was left open overnight.", "Someone forgot to close the gate.", "entailment"),
    ("He always walks to work.", "He drives to work every day.", "contradiction"),
    ("The festival attracts visitors from abroad.", "The festival is held in summer.", "neutral"),
    (
        "The minister answered questions for an hour.",
        "The minister spoke to reporters.",
        "entailment",
    ),
    (
        "The shop sells only second-hand clothes.",
        "Everything in the shop is brand new.",
        "contradiction",
    ),
    ("Well, I guess we could meet on Friday then.", "We might meet on Friday.", "entailment"),
    ("The letter arrived two weeks late.", "The letter came early.", "contradiction"),
    (
        "The report describes the events of that morning.",
        "The report was written by a " "journalist.",
        "neutral",
    ),
    (
        "Most of the students passed the final exam.",
        "Some students took the final exam.",
        "entailment",
    ),
    ("The bakery opens before sunrise.", "The bakery opens at noon.", "contradiction"),
    ("The council approved the budget on Tuesday.", "The budget was approved.", "entailment"),
    (
        "The cat slept on the sofa all afternoon.",
        "The cat was chasing mice outside all " "afternoon.",
        "contradiction",
    ),
    ("The author lives in a small flat in the city.", "The author writes at night.", "neutral"),
    (
        "The road to the airport is being widened.",
        "Work is going on along the airport road.",
        "entailment",
    ),
    (
        "The price of bread doubled in ten years.",
        "Bread costs less than it did ten years ago.",
        "contradiction",
    ),
    (
        "Uh, I think the meeting got moved to Thursday.",
        "The meeting was cancelled for good.",
        "contradiction",
    ),
    ("Dear sir, thank you for your kind letter.", "The writer is thanking someone.", "entailment"),
    (
        "The planes were grounded for the rest of the day.",
        "The airline lost money that day.",
        "neutral",
    ),
    (
        "The dictionary lists three meanings of the word.",
        "The word has more than one meaning.",
        "entailment",
    ),
    ("You know, I just never got around to it.", "The speaker did it right away.", "contradiction"),
    # test (matched, then mismatched)
    ("The ferry leaves the island twice a day.", "There is a ferry from the island.", None),
    ("The team lost every match last season.", "The team won the league.", None),
    ("She painted the kitchen a pale yellow.", "The kitchen is bright.", None),
    ("We talked about the weather for a while.", "We had a conversation.", None),
    ("The factory closed after forty years.", "The factory is still running.", None),
    ("The guide pointed out the old city walls.", "The city has walls.", None),
]

QNLI_TRAIN = [  # question, sentence, label
    ("When does the bakery open?", "The bakery opens at seven in the morning.", "entailment"),
    ("Who painted the mural?", "The mural covers the whole north wall.", "not_entailment"),
    ("How long is the river?", "The river runs for about 300 kilometres to the sea.", "entailment"),
    (
        "What language is spoken in the valley?",
        "The valley is known for its cheese.",
        "not_entailment",
    ),
    (
        "Where was the treaty signed?",
        "The treaty was signed in a small town hall by the lake.",
        "entailment",
    ),
    (
        "How many people live in the village?",
        "The village church dates from 1820.",
        "not_entailment",
    ),
    (
        "What do the birds eat in winter?",
        "In winter the birds feed mostly on seeds and berries.",
        "entailment",
    ),
    ("When was the bridge built?", "The bridge is painted red every ten years.", "not_entailment"),
    ("Who founded the school?", "A local doctor founded the school in 1902.", "entailment"),
    ("What is the island famous for?", "Ferries to the island run twice a day.", "not_entailment"),
    (
        "Why did the factory close?",
        "The factory closed because demand for coal fell.",
        "entailment",
    ),
    ("Which team won the final?", "The final was played in heavy rain.", "not_entailment"),
    ("How tall is the tower?", "The tower rises 120 metres above the square.", "entailment"),
    ("What is the main crop of the region?", "The region has mild winters.", "not_entailment"),
    (
        "Who wrote the first guidebook?",
        "The first guidebook was written by a retired teacher.",
        "entailment",
    ),
    ("Where do the trains stop?", "The trains were repainted last year.", "not_entailment"),
    ("What colour is the flag?", "The flag is green with a white star.", "entailment"),
    ("When did the museum open?", "The museum holds over a thousand paintings.", "not_entailment"),
    ("How deep is the lake?", "The lake is 80 metres deep at its centre.", "entailment"),
    ("Who owns the castle?", "The castle stands on a hill above the town.", "not_entailment"),
]


def binary_parse(sentence: str) -> str:
    words = sentence.replace(".", " .").replace(",", " ,").replace("?", " ?").split()
    tree = words[-1]
    for word in reversed(words[:-1]):
        tree = f"( {word} {tree} )"
    return tree


def parse(sentence: str) -> str:
    words = sentence.replace(".", " .").replace(",", " ,").replace("?", " ?").split()
    leaves = " ".join(f"(. {w})" if w in ".,?" else f"(X {w})" for w in words)
    return f"(ROOT (S {leaves}))"


def write(path: Path, header: Sequence[str], rows: List[Sequence]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(header)] + ["\t".join(str(cell) for cell in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def qqp(target: Path) -> None:
    header = ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"]
    rows = [
        (400 + i, 900 + 2 * i, 901 + 2 * i, first, second, label)
        for i, (first, second, label) in enumerate(QQP)
    ]
    write(target / "train.tsv", header, rows[:20])
    write(target / "dev.tsv", header, rows[20:30])
    write(
        target / "test.tsv", ["id", "question1", "question2"], [r[:1] + r[3:5] for r in rows[30:]]
    )


def _mnli_row(index: int, genre: str, premise: str, hypothesis: str) -> List:
    prompt = 7000 + index
    return [
        index,
        prompt,
        f"{prompt}{'ecn'[index % 3]}",
        genre,
        binary_parse(premise),
        binary_parse(hypothesis),
        parse(premise),
        parse(hypothesis),
        premise,
        hypothesis,
    ]


def _annotators(gold: str, index: int) -> Tuple[str, ...]:
    # Five annotators, the gold label the majority; one disagrees on some pairs, as in MNLI.
    other = "neutral" if gold != "neutral" else "entailment"
    return (gold, gold, other if index % 2 else gold, gold, gold)


def mnli(target: Path) -> None:
    columns = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse",
               "sentence2_binary_parse", "sentence1_parse", "sentence2_parse", "sentence1",
               "sentence2"]  # fmt: skip
    train = [
        _mnli_row(i, MATCHED[i % 5], p, h) + [gold, gold] for i, (p, h, gold) in enumerate(MNLI)
    ][:20]
    write(target / "train.tsv", columns + ["label1", "gold_label"], train)
    dev_columns = columns + [f"label{n}" for n in range(1, 6)] + ["gold_label"]
    for name, genres, pairs in (
        ("dev_matched.tsv", MATCHED, MNLI[20:25] + MNLI[30:35]),
        ("dev_mismatched.tsv", MISMATCHED, MNLI[25:30] + MNLI[35:40]),
    ):
        rows = [
            _mnli_row(i, genres[i % 5], p, h) + list(_annotators(gold, i)) + [gold]
            for i, (p, h, gold) in enumerate(pairs)
        ]
        write(target / name, dev_columns, rows)
    for name, genres, pairs in (
        ("test_matched.tsv", MATCHED, MNLI[40:43]),
        ("test_mismatched.tsv", MISMATCHED, MNLI[43:46]),
    ):
        rows = [_mnli_row(i, genres[i % 5], p, h) for i, (p, h, _) in enumerate(pairs)]
        write(target / name, columns, rows)


def qnli_train(target: Path) -> None:
    rows = [(i, question, sentence, label) for i, (question, sentence, label) in
            enumerate(QNLI_TRAIN)]  # fmt: skip
    write(target / "train.tsv", ["index", "question", "sentence", "label"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=Path("fixtures/data"))
    args = parser.parse_args()
    qqp(args.target / "glue" / "QQP")
    mnli(args.target / "glue" / "MNLI")
    qnli_train(args.target / "glue" / "QNLI")


if __name__ == "__main__":
    main()
