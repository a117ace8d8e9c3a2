"""Interfaces over a read-only store: the listings and engine calls every interface shares
(:mod:`~robomem.service.browse`, :mod:`~robomem.service.engine`), readable tables for the command
line (:mod:`~robomem.service.tables`), the HTTP JSON service (:mod:`~robomem.service.http`, needs
FastAPI + uvicorn) and MCP tools (:mod:`~robomem.service.mcp_tools`, needs the ``mcp`` SDK).
Importing this package imports none of those frameworks. See docs/service.md."""
