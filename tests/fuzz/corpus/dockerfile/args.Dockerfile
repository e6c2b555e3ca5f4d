# ARG scoping: a global ARG is seen by FROM only, unless re-declared; ENV wins over ARG; --build-arg over defaults.
ARG TAG=latest
ARG ONLY_GLOBAL=g
FROM busybox:${TAG}
ARG A=default-a
ARG B
ARG TAG
ENV A=from-env
ARG C=${A}-c
RUN echo "A=$A B=${B:-unset} TAG=$TAG G=${ONLY_GLOBAL:-not-seen} C=$C" > /args
ENV EXPANDED=${B:+b-is-set} TRIM=${TAG%est} DEFAULTED=${NOPE:-fallback} PREFIX=${A#from-} REPL=${A/env/ENV}
