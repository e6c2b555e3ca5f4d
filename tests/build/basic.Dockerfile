# The instructions a plain image uses, checked from inside the image (and against buildah).
FROM busybox
ENV APP=/srv/app MODE=test
ENV LEGACY the legacy value
LABEL org.example.name="basic image" version=1
WORKDIR $APP
WORKDIR sub
COPY a.txt .
COPY b.txt /srv/app/copied/
COPY dir /srv/dir-contents
COPY a.txt b.txt /srv/multi/
COPY *.txt /srv/glob/
COPY --chown=nobody:nogroup --chmod=640 a.txt /srv/owned
COPY --chown=1000 script.sh /srv/
COPY link-to-a /srv/followed
COPY other /srv/other
RUN rm /bin/vi && mkdir -p /data/made && echo "$MODE" > /data/made/mode && chmod 700 /data/made
RUN rm -rf /srv/dir-contents/sub
USER nobody
EXPOSE 8080 53/udp
VOLUME ["/data"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD true
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo hi"]
