"""Static facts about a function's AST, computed once per conversion."""
