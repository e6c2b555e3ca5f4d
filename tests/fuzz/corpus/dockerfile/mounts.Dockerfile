# RUN --mount: cache, bind (context and stage), tmpfs, secret.
FROM busybox AS src
RUN echo from-stage > /stage-file

FROM busybox
RUN --mount=type=cache,target=/cache echo run >> /cache/count && wc -l < /cache/count > /cache-count
RUN --mount=type=bind,source=dir,target=/ctx cat /ctx/x > /bound-x
RUN --mount=type=bind,from=src,source=/stage-file,target=/sf cp /sf /from-stage
RUN --mount=type=tmpfs,target=/scratch echo t > /scratch/t && test -f /scratch/t
RUN --mount=type=secret,id=token,mode=0440 cat /run/secrets/token > /secret-seen-len && wc -c < /run/secrets/token > /secret-len && rm /secret-seen-len
