"""The web platform through which people take part (issue 43): FastAPI pages for facilitators, experts and judges
on the lab's protocols, data and views, over the store in ``felab.store``. Needs the ``[web]`` extra; the
command-line entry points (``command``) import it only when run, so the core works without it."""
