"""Prompt folders shipped inside the package as `imr_llm.prompt_files` (see imr_llm.prompts)."""
