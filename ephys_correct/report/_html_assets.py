"""Inline stylesheet and script of the HTML run report (no network at view time)."""

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:0 1.2em 3em;color:#222}
h1{font-size:1.4em;margin:.8em 0 .2em}h2{font-size:1.15em;margin:1.2em 0 .4em;border-bottom:1px solid #ccc}
h4{margin:1em 0 .3em}code{font-size:.92em}
table{border-collapse:collapse;font-size:13px}
th,td{padding:2px 6px;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}
th{background:#f3f3f3;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
#summary th{cursor:pointer}#summary th:after{content:" \\2195";color:#aaa;font-size:.8em}
#summary td.warn{max-width:32em;font-size:12px;color:#555}
.st{display:inline-block;padding:0 .45em;border-radius:3px;font-size:12px;font-weight:600;background:#ddd}
.st.ok{background:#d8f0d8;color:#1b5e20}.st.failed{background:#f8d7d7;color:#8b0000}
.st.skipped{background:#e4e9f5;color:#1a3a7a}.st.warn{background:#fff1c2;color:#7a5200}
.st.suspect{background:#c00;color:#fff}
.controls{margin:.5em 0;display:flex;gap:1em;align-items:center;flex-wrap:wrap}
.controls input[type=search]{width:22em;padding:3px}
details.rec{border:1px solid #ddd;border-radius:4px;margin:.35em 0;padding:.2em .6em}
details.rec[open]{background:#fcfcfc}details.rec>summary{cursor:pointer}
.reason{background:#fff8e1;border-left:4px solid #f0b400;padding:.3em .6em;margin:.4em 0;font-size:13px}
.reason.failed{background:#fdecea;border-color:#c00}
.problem{background:#fdecea;border-left:4px solid #c00;padding:.3em .6em;margin:.4em 0}
.suspect{color:#fff;background:#c00;font-weight:700;padding:.3em .6em;margin:.4em 0}
dl.prov{display:grid;grid-template-columns:max-content auto;gap:1px 1em;font-size:13px;margin:.4em 0}
dl.prov dt{color:#555}dl.prov dd{margin:0}
.figs{display:flex;flex-wrap:wrap;gap:.5em 1.5em;align-items:flex-start}
figure{margin:.5em 0;max-width:640px}figure img{max-width:100%;height:auto;border:1px solid #eee}
.scroll{overflow:auto;max-height:75vh}
figcaption{font-size:12px;color:#444;max-width:60em}.figtitle{font-weight:600}
table.erev caption{text-align:left;font-size:12px;color:#444;caption-side:bottom;padding-top:3px}
td.note{font-size:11px;color:#666;max-width:40em}.path{font-size:12px;color:#555;word-break:break-all}
.note{color:#555;font-size:13px}.top{font-size:12px}
@media print{details.rec{break-inside:avoid}.controls{display:none}}
"""

_JS = """
(function(){
  var q=document.getElementById('q'), st=document.getElementById('status'), n=document.getElementById('shown');
  var rows=Array.prototype.slice.call(document.querySelectorAll('#summary tbody tr'));
  function apply(){
    var text=q.value.toLowerCase(), want=st.value, k=0;
    rows.forEach(function(r){
      var okS = want==='all' || r.getAttribute('data-status')===want ||
                (want==='warnings' && r.getAttribute('data-warn')==='1') ||
                (want==='suspect' && r.getAttribute('data-suspect')==='1');
      var show = okS && (!text || r.textContent.toLowerCase().indexOf(text)>=0);
      r.hidden=!show; var s=document.getElementById(r.getAttribute('data-target')); if(s){s.hidden=!show;}
      if(show){k++;}
    });
    n.textContent=k;
  }
  q.addEventListener('input',apply); st.addEventListener('change',apply);
  function openTarget(){
    var id=decodeURIComponent(location.hash.slice(1)); var el=id&&document.getElementById(id);
    if(el&&el.tagName==='DETAILS'){el.open=true; el.hidden=false; el.scrollIntoView();}
  }
  window.addEventListener('hashchange',openTarget); openTarget();
  var tbody=document.querySelector('#summary tbody');
  Array.prototype.forEach.call(document.querySelectorAll('#summary th'),function(th,i){
    var asc=true;
    th.addEventListener('click',function(){
      var sorted=rows.slice().sort(function(a,b){
        var x=a.children[i].getAttribute('data-v'), y=b.children[i].getAttribute('data-v');
        if(x===''||x===null){return 1;} if(y===''||y===null){return -1;}
        var nx=Number(x), ny=Number(y);
        var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
        return asc?c:-c;
      });
      asc=!asc; sorted.forEach(function(r){tbody.appendChild(r);});
    });
  });
})();
"""
