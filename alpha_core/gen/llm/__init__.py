"""LLM research (issue 15): a natural-language hypothesis becomes FastExpr alphas through one litellm client.

``client``   the litellm client: retries, the per-day token budget, one record (tokens, cost) per HTTP attempt;
``answers``  the answer contract (pydantic) and the rejection of garbage (prose, broken JSON, injection...);
``prompts``  what the model is told: operators, local fields, settings, checks, worked examples, lessons;
``loop``     one research request: propose, lint, repair, simulate, check, feed back, stop on a winner;
``kb``       the knowledge base in DuckDB: stored results, distilled lessons, their retrieval, ``analyze``;
``daily``    the LLM as a source of the daily miner: proposals seeded into each (date, field) search;
``cli``      ``alpha research ...`` (the run itself is the Dagster job ``alpha_assets.research.research_job``).

Nothing here imports dagster; litellm is imported only when a client is built.
"""
